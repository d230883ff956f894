import { describe, expect, it } from "vitest";
import type { Agent } from "../../../src/api/agent.ts";
import type { Delegation } from "../../../src/api/delegation.ts";
import type { AgentTeam } from "../../../src/api/team.ts";
import { authorize } from "../../../src/delegation/authorize.ts";
import { pipelineStep, stageChild, stageChildren, stageName } from "../../../src/delegation/pipeline.ts";
import { effectivePolicy, timedOut, withinParent } from "../../../src/delegation/policy.ts";
import { splitResult, truncateUtf8 } from "../../../src/delegation/result.ts";

function team(name: string, spec: Partial<AgentTeam["spec"]>): AgentTeam {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name, namespace: "ns", uid: `uid-${name}` },
    spec: {
      pattern: "hubAndSpoke",
      delegation: { maxDepth: 3, defaultTimeoutSeconds: 600, maxAttempts: 3, ttlSecondsAfterFinished: 86400 },
      networkIsolation: true,
      ...spec,
    } as AgentTeam["spec"],
  };
}

function deleg(name: string, spec: Partial<Delegation["spec"]>, status?: Delegation["status"]): Delegation {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, creationTimestamp: "2030-01-01T00:00:00Z" },
    spec: { task: "t", priority: 0, ...spec },
    ...(status && { status }),
  };
}

describe("truncateUtf8", () => {
  it("never splits a character", () => {
    expect(truncateUtf8("abc", 10)).toBe("abc");
    expect(truncateUtf8("abc", 2)).toBe("ab");
    expect(truncateUtf8("aé", 2)).toBe("a"); // é is 2 bytes
    expect(truncateUtf8("aé", 3)).toBe("aé");
    expect(truncateUtf8("€€", 5)).toBe("€"); // € is 3 bytes
    expect(truncateUtf8("😀x", 3)).toBe(""); // 4-byte emoji
    expect(truncateUtf8("😀x", 4)).toBe("😀");
    expect(truncateUtf8("x", 0)).toBe("");
    const long = "ab€😀".repeat(5000);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16383, 16384]) {
      const cut = truncateUtf8(long, n);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(n);
      expect(Buffer.byteLength(cut)).toBeGreaterThan(n - 4);
      expect(long.startsWith(cut)).toBe(true);
      expect(cut).not.toContain("\uFFFD");
    }
  });

  it("splitResult keeps small results inline and cuts huge ones", () => {
    expect(splitResult("short", "cm")).toEqual({ result: "short" });
    const huge = "x".repeat(1_200_000);
    const split = splitResult(huge, "cm");
    expect(split.overflow).toHaveLength(1_000_000);
    expect(split.cutMessage).toContain("1000000");
    expect(Buffer.byteLength(split.result)).toBeLessThanOrEqual(16 * 1024);
  });
});

describe("effectivePolicy", () => {
  it("takes the spec, then the team, then the defaults; the deadline runs from creation", () => {
    const d = deleg("d", { to: "w" });
    expect(effectivePolicy(d)).toMatchObject({ timeoutMs: 600_000, maxAttempts: 3, ttlSeconds: 86400, maxDepth: 3 });
    expect(effectivePolicy(d).deadline.toISOString()).toBe("2030-01-01T00:10:00.000Z");
    const t = team("t", {
      delegation: { maxDepth: 5, defaultTimeoutSeconds: 60, maxAttempts: 1, ttlSecondsAfterFinished: 10 },
    });
    expect(effectivePolicy(d, t)).toMatchObject({ timeoutMs: 60_000, maxAttempts: 1, ttlSeconds: 10, maxDepth: 5 });
    const own = deleg("e", { to: "w", timeoutSeconds: 5, maxAttempts: 7, ttlSecondsAfterFinished: 0 });
    expect(effectivePolicy(own, t)).toMatchObject({ timeoutMs: 5000, maxAttempts: 7, ttlSeconds: 0 });
  });

  it("bounds a sub-task by its parent's deadline, and says so when it times out", () => {
    const own = effectivePolicy(deleg("child", { to: "w", timeoutSeconds: 600 })); // until 00:10:00
    const bound = withinParent(own, "lead-task", new Date("2030-01-01T00:00:30Z"));
    expect(bound).toMatchObject({ timeoutMs: 30_000, boundByParent: "lead-task" });
    expect(bound.deadline.toISOString()).toBe("2030-01-01T00:00:30.000Z");
    expect(timedOut(bound)).toBe("timed out after 30 s (the deadline of its parent Delegation lead-task)");
    // A parent with more time left changes nothing.
    expect(withinParent(own, "lead-task", new Date("2030-01-01T01:00:00Z"))).toBe(own);
    expect(timedOut(own, " waiting for a free slot")).toBe("timed out after 600 s waiting for a free slot");
  });
});

describe("authorize", () => {
  const hub = team("company", {
    pattern: "hubAndSpoke",
    lead: "ceo",
    members: [{ agent: "researcher" }, { agent: "writer" }],
  });
  const pipe = team("draft", { pattern: "pipeline", lead: "ceo", stages: ["researcher", "writer"] });
  const agents: Record<string, Partial<Agent["spec"]>> = {
    ceo: {},
    researcher: { capabilities: ["research"] },
    writer: { capabilities: ["write", "research"] },
  };
  const agent = (name: string) => (agents[name] ? ({ spec: agents[name] } as Agent) : undefined);
  const chain: Record<string, Delegation> = {
    root: deleg("root", { team: "company", to: "ceo" }, { phase: "Running", agent: "ceo" }),
    mid: deleg(
      "mid",
      { team: "company", from: "ceo", to: "researcher", parent: "root" },
      { phase: "Running", agent: "researcher" },
    ),
  };
  const base = { teams: [hub, pipe], agent, delegation: (n: string) => chain[n] };

  it.each([
    ["lead to member", { caller: "ceo", team: "company", to: "researcher" }, ["researcher"]],
    ["person to any member", { caller: undefined, team: "company", to: "writer" }, ["writer"]],
    ["person to the team entry", { caller: undefined, team: "company" }, ["ceo"]],
    [
      "capability, in member order",
      { caller: "ceo", team: "company", capability: "research" },
      ["researcher", "writer"],
    ],
    ["team inferred from the edge", { caller: "ceo", to: "writer" }, ["writer"]],
    ["team inferred from a capability", { caller: "ceo", capability: "research" }, ["researcher", "writer"]],
    ["pipeline stage n to n+1", { caller: "researcher", team: "draft", to: "writer" }, ["writer"]],
    ["pipeline lead calls the pipeline", { caller: "ceo", team: "draft" }, []],
    ["no team, a person", { caller: undefined, to: "writer" }, ["writer"]],
  ])("allows %s", (_name, input, candidates) => {
    const r = authorize({ ...base, ...input });
    expect(r).toMatchObject({ ok: true, candidates });
  });

  it.each([
    ["member to lead", { caller: "researcher", team: "company", to: "ceo" }, "Forbidden"],
    ["member to member", { caller: "researcher", team: "company", to: "writer" }, "Forbidden"],
    ["outside the team", { caller: "ceo", team: "company", to: "stranger" }, "Forbidden"],
    ["a member calling the hub team itself", { caller: "writer", team: "company" }, "Forbidden"],
    ["unknown team", { caller: "ceo", team: "nope", to: "writer" }, "NotFound"],
    ["no capability match", { caller: "ceo", team: "company", capability: "paint" }, "NotFound"],
    ["no edge in any team", { caller: "writer", to: "ceo" }, "Forbidden"],
    ["a capability no reachable agent has", { caller: "ceo", capability: "paint" }, "Forbidden"],
    ["ambiguous team", { caller: "ceo" }, "Ambiguous"],
    ["missing parent", { caller: "ceo", team: "company", to: "writer", parent: "gone" }, "NotFound"],
    ["loop back to an ancestor", { caller: "researcher", to: "ceo", parent: "mid" }, "Forbidden"],
  ])("refuses %s", (_name, input, code) => {
    const r = authorize({ ...base, ...input });
    expect(r).toMatchObject({ ok: false, code });
  });

  it("checks depth and loops through the parent chain", () => {
    const fed = team("fed", {
      pattern: "federated",
      lead: "ceo",
      groups: [
        { name: "a", lead: "researcher", members: ["x"] },
        { name: "b", lead: "writer", members: ["y"] },
      ],
      delegation: { maxDepth: 2, defaultTimeoutSeconds: 600, maxAttempts: 3, ttlSecondsAfterFinished: 86400 },
    });
    agents.x = {};
    const loop = authorize({ ...base, teams: [fed], caller: "researcher", team: "fed", to: "writer", parent: "mid" });
    expect(loop).toMatchObject({ ok: false, code: "MaxDepth" });
    const deep = { ...base, teams: [fed], delegation: (n: string) => chain[n] };
    expect(authorize({ ...deep, caller: "researcher", team: "fed", to: "x", parent: "mid" })).toMatchObject({
      ok: false,
      code: "MaxDepth",
    });
    const hub3 = team("company", {
      ...hub.spec,
      pattern: "hubAndSpoke",
      lead: "ceo",
      members: [{ agent: "researcher" }, { agent: "ceo2" }],
    });
    agents.ceo2 = {};
    // ceo works on root; a delegation under root back to ceo is a loop.
    const r = authorize({ ...base, teams: [hub3], caller: "ceo", team: "company", to: "researcher", parent: "root" });
    expect(r).toMatchObject({ ok: true, depth: 2 });
    // Group leads call each other; writer working for researcher may not hand the task back.
    const backAndForth = {
      ...base,
      teams: [fed],
      delegation: (n: string) =>
        n === "p1"
          ? deleg("p1", { team: "fed", from: "researcher", to: "writer" }, { phase: "Running", agent: "writer" })
          : undefined,
    };
    expect(authorize({ ...backAndForth, caller: "writer", team: "fed", to: "researcher", parent: "p1" })).toMatchObject(
      { ok: false, code: "Loop" },
    );
    const strict = authorize({
      ...base,
      caller: "writer",
      team: "company",
      to: "researcher",
      parent: "root",
      strictParent: true,
    });
    expect(strict).toMatchObject({ ok: false, code: "Forbidden" });
  });
});

describe("pipelineStep", () => {
  const t = team("draft", { pattern: "pipeline", stages: ["researcher", "writer"] });
  const parent = deleg("job", { team: "draft", task: "write about X", context: [{ role: "user", content: "hi" }] });
  const child = (i: number, status?: Delegation["status"]) => {
    const c = stageChild(parent, t, i, i === 0 ? parent.spec.task : "from stage 0", {
      remainingSeconds: 100.2,
      maxAttempts: 2,
    });
    c.metadata.uid = `uid-${c.metadata.name}`;
    if (status) c.status = status;
    return c;
  };

  it("creates stage 0 from the parent's task", () => {
    const a = pipelineStep(parent, new Map(), t);
    expect(a).toMatchObject({ kind: "create", index: 0, input: { text: "write about X" } });
    const c = child(0);
    expect(c.metadata.name).toBe("job-s0");
    expect(c.spec).toMatchObject({
      team: "draft",
      to: "researcher",
      parent: "job",
      timeoutSeconds: 101,
      maxAttempts: 2,
    });
    expect(c.spec.context).toHaveLength(1);
    expect(child(1).spec).toMatchObject({ from: "researcher", to: "writer" });
    expect(child(1).spec.context).toBeUndefined();
    expect(c.metadata.labels?.["clawcrew.io/stage"]).toBe("0");
  });

  it("waits, chains results (inline or by reference), succeeds with summed usage, fails with the stage", () => {
    expect(pipelineStep(parent, new Map([[0, child(0, { phase: "Running" })]]), t).kind).toBe("wait");
    const done0 = child(0, { phase: "Succeeded", result: "facts", usage: { totalTokens: 5 } });
    expect(pipelineStep(parent, new Map([[0, done0]]), t)).toMatchObject({
      kind: "create",
      index: 1,
      input: { text: "facts" },
    });
    const ref = child(0, { phase: "Succeeded", result: "f…", resultRef: { name: "job-s0-result-1", key: "result" } });
    expect(pipelineStep(parent, new Map([[0, ref]]), t)).toMatchObject({
      kind: "create",
      input: { ref: { name: "job-s0-result-1", key: "result" } },
    });
    const done1 = child(1, { phase: "Succeeded", result: "article", usage: { totalTokens: 7, promptTokens: 2 } });
    const ok = pipelineStep(
      parent,
      new Map([
        [0, done0],
        [1, done1],
      ]),
      t,
    );
    expect(ok).toMatchObject({ kind: "succeed", result: "article", usage: { totalTokens: 12, promptTokens: 2 } });
    // A stage whose usage is unknown makes the pipeline's unknown: a partial sum would read as the whole.
    const unmetered = child(1, { phase: "Succeeded", result: "article", usage: { unknown: true } });
    const partial = pipelineStep(
      parent,
      new Map([
        [0, done0],
        [1, unmetered],
      ]),
      t,
    );
    expect(partial.kind).toBe("succeed");
    expect(partial.kind === "succeed" && partial.usage).toEqual({ unknown: true });
    expect(ok.stages.map((s) => s.phase)).toEqual(["Succeeded", "Succeeded"]);
    const failed = child(1, { phase: "Failed", reason: "TimedOut", message: "timed out after 5 s" });
    expect(
      pipelineStep(
        parent,
        new Map([
          [0, done0],
          [1, failed],
        ]),
        t,
      ),
    ).toMatchObject({
      kind: "fail",
      reason: "TimedOut",
      message: "stage 1 (writer): timed out after 5 s",
    });
  });

  it("fails Cancelled when a child it created vanished", () => {
    const running = {
      ...parent,
      status: {
        phase: "Running" as const,
        stages: [{ index: 0, agent: "researcher", phase: "Running" as const, delegation: "job-s0" }],
      },
    };
    expect(pipelineStep(running, new Map(), t)).toMatchObject({ kind: "fail", reason: "Cancelled" });
  });

  it("takes as stages only the children it would have made: name, agent and operator label", () => {
    const owned = { ...parent, metadata: { ...parent.metadata, uid: "uid-job" } };
    const make = (i: number) => {
      const c = stageChild(owned, t, i, "task", { remainingSeconds: 100, maxAttempts: 2 });
      c.metadata.uid = `uid-${i}`;
      return c;
    };
    const real = make(0);
    const renamed = { ...make(1), metadata: { ...make(1).metadata, name: "job-forged" } };
    const otherAgent = { ...make(1), spec: { ...make(1).spec, to: "researcher" } };
    const unlabelled = make(1);
    delete unlabelled.metadata.labels!["app.kubernetes.io/managed-by"];
    const outOfRange = make(1);
    outOfRange.metadata.labels!["clawcrew.io/stage"] = "7";
    const children = stageChildren(owned, t, [real, renamed, otherAgent, unlabelled, outOfRange]);
    expect([...children.keys()]).toEqual([0]);
    expect(children.get(0)).toBe(real);
    expect([...stageChildren(owned, t, [make(1)]).keys()]).toEqual([1]);
  });

  it("names children deterministically within 63 characters", () => {
    expect(stageName("a".repeat(54), 3)).toBe(`${"a".repeat(54)}-s3`);
    const long = stageName("b".repeat(63), 15);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^b{47}-[0-9a-f]{6}-s15$/);
    expect(stageName("b".repeat(63), 15)).toBe(long);
  });
});
