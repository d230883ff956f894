/**
 * Delegation end to end through the REAL operator process (src/main.ts) in a pod network: agent pods run the
 * stub gateway at their kwok IPs, the operator dials them over the bridge, and the test calls the operator's
 * delegation endpoint (REST and MCP, with agents' delegation tokens) on the bridge address, as pods would.
 * Covers routing, refusal, least-loaded choice, a pipeline, failover to another pod, and restart safety
 * (SIGKILL of the operator mid-flight, a second operator finishes every Delegation exactly once).
 * Needs root (network namespaces, a bridge), like podnet.test.ts.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ControlPlane,
  eventually,
  freePorts,
  GVR,
  installCrds,
  installSignalCleanup,
  isReady,
  kubectlOk,
  namespaceApi,
  type Obj,
  type OperatorProcess,
  startControlPlane,
  startOperator,
} from "../../harness/index.ts";
import {
  acquirePodNetwork,
  BRIDGE_ADDRESS,
  BRIDGE_NAME,
  LOCK_FILE,
  listPodNetLinks,
  listSandboxNetns,
  type PodAgent,
  type PodNetwork,
  startPodAgent,
} from "../../harness/podnet/index.ts";
import { DELEGATION_TOKEN_KEY } from "../../src/agent/desired.ts";
import type { Delegation } from "../../src/api/delegation.ts";
import { isTerminal } from "../../src/delegation/delegation-object.ts";
import { GATEWAY_PORT } from "../../src/openclaw/version.ts";
import { KubeClient } from "../../src/runtime/client.ts";
import { Informer } from "../../src/runtime/informer.ts";

const NS = "deleg-flow";
/** The researcher's stub gateways hold every answer this long, so work is in flight long enough to observe. */
const RESEARCHER_DELAY_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("delegation through the operator's endpoint, with stub gateways in a pod network", () => {
  let cp: ControlPlane | undefined;
  let network: PodNetwork | undefined;
  let podAgent: PodAgent | undefined;
  const operators: OperatorProcess[] = [];
  let removeSignalCleanup: (() => void) | undefined;
  let client: KubeClient;
  let port: number;
  let endpoint: string;
  const tokens: Record<string, string> = {};
  const timings: Record<string, number> = {};
  /** Delegations finished when the first operator was killed: the second must not count them. */
  const finishedByFirst = new Set<string>();

  const { api, listDelegations, agentPods, agentTokens } = namespaceApi(() => client, NS);
  const getDelegation = (name: string) => client.get<Delegation>(api(GVR.delegations, name));
  const createDelegation = (spec: Obj, labels: Record<string, string> = {}) =>
    client.request<Delegation>("POST", api(GVR.delegations), {
      body: {
        apiVersion: "clawcrew.io/v1alpha1",
        kind: "Delegation",
        metadata: { generateName: "t-", labels },
        spec,
      },
    });
  const waitTerminal = (name: string, timeoutMs = 60_000) =>
    eventually(
      `Delegation ${name} to finish`,
      async () => {
        const d = await getDelegation(name);
        return isTerminal(d) ? d : undefined;
      },
      { timeoutMs },
    );

  async function rest(path: string, token: string, body?: unknown): Promise<{ status: number; body: Obj }> {
    const response = await fetch(`${endpoint}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: response.status, body: (await response.json()) as Obj };
  }

  async function mcpClient(token: string): Promise<Client> {
    const mcp = new Client({ name: "delegation-flow-test", version: "1" });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${endpoint}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    return mcp;
  }

  async function operator(identity: string): Promise<OperatorProcess> {
    const op = await startOperator(cp!.kubeconfigPath, identity, [
      `--namespace=${NS}`,
      `--leader-election-namespace=${NS}`,
      `--delegation-bind-address=${BRIDGE_ADDRESS}:${port}`,
      `--delegation-url=http://${BRIDGE_ADDRESS}:${port}/mcp`,
      "--lease-duration-seconds=4",
    ]);
    operators.push(op);
    await eventually(
      `operator ${identity} to lead`,
      async () => {
        if (op.child.exitCode !== null) throw new Error(`operator ${identity} exited: see ${op.logFile}`);
        return op.logs.some((l) => l.msg === "controllers started") ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(op.delegation()).toBe(`${BRIDGE_ADDRESS}:${port}`);
    return op;
  }

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root: it creates network namespaces and a bridge");
    removeSignalCleanup = installSignalCleanup();
    let t0 = performance.now();
    network = await acquirePodNetwork({ waitMs: 360_000, log: () => {} });
    timings.networkMs = Math.round(performance.now() - t0);
    t0 = performance.now();
    cp = await startControlPlane({ podReadiness: "external", log: () => {} });
    timings.controlPlaneMs = Math.round(performance.now() - t0);
    client = KubeClient.load({ kubeconfig: cp.kubeconfigPath });
    await installCrds(cp.kubeconfigPath);
    await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NS } } });
    port = (await freePorts(1, BRIDGE_ADDRESS))[0]!;
    endpoint = `http://${BRIDGE_ADDRESS}:${port}`;

    t0 = performance.now();
    await operator("op-1");
    timings.operatorMs = Math.round(performance.now() - t0);
    podAgent = startPodAgent({
      kubeconfig: cp.kubeconfigPath,
      runtime: "stub",
      namespace: NS,
      stubEnv: (pod): Record<string, string> =>
        pod.metadata?.labels?.["clawcrew.io/agent"] === "researcher" ? { STUB_DELAY_MS: `${RESEARCHER_DELAY_MS}` } : {},
      log: () => {},
    });

    const agent = (name: string, spec: Obj) => ({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Agent",
      metadata: { name, namespace: NS },
      spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" }, ...spec },
    });
    const team = (name: string, spec: Obj) => ({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "AgentTeam",
      metadata: { name, namespace: NS },
      spec,
    });
    await kubectlOk(cp.kubeconfigPath, ["apply", "-f", "-"], {
      apiVersion: "v1",
      kind: "List",
      items: [
        agent("ceo", { capabilities: ["planning"] }),
        agent("researcher", { capabilities: ["research"], replicas: 2, maxConcurrentTasks: 8 }),
        agent("writer", { capabilities: ["writing"] }),
        team("company", {
          pattern: "hubAndSpoke",
          lead: "ceo",
          members: [
            { agent: "researcher", role: "Research questions." },
            { agent: "writer", role: "Write the text." },
          ],
        }),
        team("draft", { pattern: "pipeline", stages: ["researcher", "writer"] }),
      ],
    });
    t0 = performance.now();
    await eventually(
      "4 Ready agent pods and Agents reporting them",
      async () => {
        for (const [name, replicas] of [
          ["ceo", 1],
          ["researcher", 2],
          ["writer", 1],
        ] as const) {
          const pods = (await agentPods(name)).filter(isReady);
          const status = (await client.get<Obj>(api(GVR.agents, name))).status;
          if (pods.length !== replicas || status?.readyReplicas !== replicas) return undefined;
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    timings.podsReadyMs = Math.round(performance.now() - t0);
    Object.assign(tokens, await agentTokens(["ceo", "researcher", "writer"], DELEGATION_TOKEN_KEY));
  }, 600_000);

  afterAll(async () => {
    const pids = podAgent?.startedPids() ?? [];
    try {
      for (const op of operators) await op.stop();
      await podAgent?.stop();
      await network?.destroy();
      client?.close();
      await cp?.stop();
    } finally {
      removeSignalCleanup?.();
      console.log(`[delegation-flow] ${JSON.stringify(timings)}`);
    }
    expect(operators.filter((op) => op.child.exitCode === null && op.child.signalCode === null)).toEqual([]);
    expect(listSandboxNetns()).toEqual([]);
    expect(listPodNetLinks()).toEqual([]);
    expect(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).not.toContain(BRIDGE_NAME);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(existsSync(LOCK_FILE)).toBe(false);
  }, 120_000);

  it("delegates over REST to a researcher pod and answers with its reply", async () => {
    const task = "REST task: find three facts";
    const t0 = performance.now();
    const { status, body } = await rest("/v1/delegations", tokens.ceo!, { agent: "researcher", task });
    timings.restMs = Math.round(performance.now() - t0);
    expect(status).toBe(200);
    expect(body).toMatchObject({ phase: "Succeeded", agent: "researcher", result: `ok:${task}` });
    expect(body.usage?.totalTokens).toBeGreaterThan(0);
    const d = await getDelegation(body.delegation);
    expect(d.spec).toMatchObject({ from: "ceo", to: "researcher", team: "company", task });
    expect(d.metadata.labels).toMatchObject({ "clawcrew.io/from": "ceo", "clawcrew.io/team": "company" });
    expect(d.status).toMatchObject({ phase: "Succeeded", agent: "researcher", result: `ok:${task}` });
    const researcherPods = (await agentPods("researcher")).map((p) => p.metadata.name);
    expect(researcherPods).toContain(d.status?.pod);
    expect(d.status?.attempts).toHaveLength(1);
    expect(d.status?.attempts?.[0]).toMatchObject({ number: 1, outcome: "Succeeded", pod: d.status?.pod });
    expect(d.status?.usage?.totalTokens).toBeGreaterThan(0);

    // The operator caches a finished Delegation as a summary; GET answers with the stored result.
    for (const query of ["", "?wait=true"]) {
      const got = await rest(`/v1/delegations/${body.delegation}${query}`, tokens.ceo!);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ phase: "Succeeded", result: `ok:${task}`, attempts: 1 });
    }
  });

  it("delegates by capability over MCP and lists the team", async () => {
    const mcp = await mcpClient(tokens.ceo!);
    try {
      const task = "MCP task: research the market";
      // `team` is named: without it a capability is refused (see the next test).
      const result = await mcp.callTool({
        name: "delegate",
        arguments: { capability: "research", team: "company", task },
      });
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      expect(result.content).toEqual([{ type: "text", text: `ok:${task}` }]);
      const name = (result.structuredContent as Obj).delegation as string;
      const d = await getDelegation(name);
      expect(d.spec).toMatchObject({ from: "ceo", capability: "research", team: "company" });
      expect(d.status).toMatchObject({ phase: "Succeeded", agent: "researcher" });

      const team = await mcp.callTool({ name: "list_team", arguments: {} });
      expect(team.isError).toBeFalsy();
      const listed = JSON.parse((team.content as { text: string }[])[0]!.text) as Obj;
      expect(listed.agent).toBe("ceo");
      expect(listed.teams).toHaveLength(1);
      const company = listed.teams[0];
      expect(company).toMatchObject({ name: "company", pattern: "hubAndSpoke", lead: "ceo" });
      expect([...company.mayDelegateTo].sort()).toEqual(["researcher", "writer"]);
      const researcher = company.members.find((m: Obj) => m.name === "researcher");
      expect(researcher).toMatchObject({ exists: true, capabilities: ["research"], readyReplicas: 2 });
      expect(company.members.map((m: Obj) => m.name).sort()).toEqual(["ceo", "researcher", "writer"]);
      // REST's GET /v1/team says the same.
      const { status, body } = await rest("/v1/team", tokens.ceo!);
      expect(status).toBe(200);
      expect(body).toEqual(team.structuredContent);
    } finally {
      await mcp.close();
    }
  });

  // PRODUCT BUG (src/delegation/authorize.ts:67): without `team`, the usable teams are filtered with
  // `isDelegator(t, caller) && !capability`, so a capability alone never finds the caller's team and is refused
  // "ceo delegates in no team", although ceo delegates in exactly one team that has a member with it.
  it("routes a capability without a team to the caller's only team", async () => {
    const mcp = await mcpClient(tokens.ceo!);
    try {
      const task = "MCP task: capability without team";
      const result = await mcp.callTool({ name: "delegate", arguments: { capability: "research", task } });
      expect(result.content).toEqual([{ type: "text", text: `ok:${task}` }]);
    } finally {
      await mcp.close();
    }
  });

  it("refuses a delegation against the topology over REST and MCP, and creates nothing", async () => {
    const before = (await listDelegations()).length;
    const { status, body } = await rest("/v1/delegations", tokens.writer!, { agent: "ceo", task: "do my work" });
    expect(status).toBe(403);
    expect(body.error.code).toBe("Forbidden");
    const mcp = await mcpClient(tokens.writer!);
    try {
      const result = await mcp.callTool({ name: "delegate", arguments: { agent: "ceo", task: "do my work" } });
      expect(result.isError).toBe(true);
      expect((result.content as { text: string }[])[0]!.text).toMatch(/^refused \(Forbidden\)/);
    } finally {
      await mcp.close();
    }
    const { status: unauthenticated } = await rest("/v1/delegations", "not-a-token", { agent: "writer", task: "x" });
    expect(unauthenticated).toBe(401);
    await sleep(1_000); // a stray create would be in the list by now
    const all = await listDelegations();
    expect(all.filter((d) => d.spec.from === "writer")).toEqual([]);
    expect(await listDelegations("clawcrew.io/from=writer")).toEqual([]);
    expect(all).toHaveLength(before);
  });

  it("spreads concurrent delegations over the least-loaded researcher pods", async () => {
    const t0 = performance.now();
    const answers = await Promise.all(
      [0, 1, 2, 3].map((i) => rest("/v1/delegations", tokens.ceo!, { agent: "researcher", task: `spread ${i}` })),
    );
    timings.spreadMs = Math.round(performance.now() - t0);
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.body.result).toBe(`ok:spread ${i}`);
    }
    const pods = await Promise.all(answers.map(async (a) => (await getDelegation(a.body.delegation)).status?.pod));
    const counts = new Map<string, number>();
    for (const pod of pods) counts.set(pod!, (counts.get(pod!) ?? 0) + 1);
    // Both pods, two each: the dispatcher picks the pod with the fewest in flight.
    expect([...counts.values()]).toEqual([2, 2]);
    // 4 tasks of 1.5 s in parallel, not in sequence.
    expect(timings.spreadMs).toBeLessThan(4 * RESEARCHER_DELAY_MS);
  });

  it("runs a pipeline: each stage's result is the next stage's task", async () => {
    const task = "pipeline input";
    await kubectlOk(cp!.kubeconfigPath, ["create", "-n", NS, "-f", "-"], {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Delegation",
      metadata: { name: "draft-1" },
      spec: { team: "draft", task },
    });
    const d = await waitTerminal("draft-1");
    expect(d.status?.phase).toBe("Succeeded");
    const stages = d.status?.stages ?? [];
    expect(stages.map((s) => [s.index, s.agent, s.phase])).toEqual([
      [0, "researcher", "Succeeded"],
      [1, "writer", "Succeeded"],
    ]);
    const [first, second] = await Promise.all(stages.map((s) => getDelegation(s.delegation!)));
    expect(first!.spec.task).toBe(task);
    expect(first!.status?.result).toBe(`ok:${task}`);
    expect(second!.spec.task).toBe(first!.status?.result);
    expect(second!.status?.result).toBe(`ok:ok:${task}`);
    expect(second!.status?.agent).toBe("writer");
    expect(d.status?.result).toBe(second!.status?.result);
  });

  it("finishes every Delegation exactly once when the operator is SIGKILLed mid-flight", async () => {
    const COUNT = 50;
    const LABEL = "clawcrew.test/batch";
    const transitions = new Map<string, string[]>();
    const terminalStates = new Map<string, Set<string>>();
    const watch = new Informer<KubernetesObject>({
      client,
      resource: GVR.delegations,
      namespace: NS,
      labelSelector: `${LABEL}=restart`,
    });
    const observe = (obj: KubernetesObject) => {
      const d = obj as Delegation;
      const uid = d.metadata.uid!;
      const phase = d.status?.phase ?? "";
      const seen = transitions.get(uid) ?? [];
      if (seen.at(-1) !== phase) seen.push(phase);
      transitions.set(uid, seen);
      if (isTerminal(d)) {
        const fingerprint = JSON.stringify([
          d.status?.phase,
          d.status?.reason,
          d.status?.completionTime,
          d.status?.result,
          d.status?.attempts?.length,
        ]);
        terminalStates.set(uid, (terminalStates.get(uid) ?? new Set()).add(fingerprint));
      }
    };
    watch.on("add", observe);
    watch.on("update", (_old, obj) => observe(obj));
    watch.start();
    try {
      await watch.waitForSync();
      const created = await Promise.all(
        Array.from({ length: COUNT }, (_, i) =>
          createDelegation({ team: "company", to: "researcher", task: `batch ${i}` }, { [LABEL]: "restart" }),
        ),
      );
      const uids = created.map((d) => d.metadata.uid!);
      // Mid-flight: the first wave finished, and a later wave is running on pods (not the first
      // wave about to finish: its terminal writes could still land after the kill), the rest queued.
      const runningUids = (items: Delegation[]) =>
        items.filter((d) => d.status?.phase === "Running" && d.status.pod).map((d) => d.metadata.uid!);
      const firstWave = new Set<string>();
      await eventually(
        "the first of the batch to finish",
        async () => {
          const items = await listDelegations(`${LABEL}=restart`);
          for (const uid of runningUids(items)) firstWave.add(uid);
          return items.some(isTerminal) ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      await eventually(
        "a later wave running",
        async () => {
          const items = await listDelegations(`${LABEL}=restart`);
          return runningUids(items).filter((uid) => !firstWave.has(uid)).length >= 4 ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      const first = operators[0]!;
      first.child.kill("SIGKILL");
      await first.exited;
      for (const d of (await listDelegations()).filter(isTerminal)) finishedByFirst.add(d.metadata.uid!);
      const atKill = (await listDelegations(`${LABEL}=restart`)).filter(isTerminal).length;
      timings.terminalAtKill = atKill;
      expect(atKill).toBeLessThan(COUNT);

      const t0 = performance.now();
      await operator("op-2");
      timings.takeoverMs = Math.round(performance.now() - t0);
      const t1 = performance.now();
      const final = await eventually(
        `all ${COUNT} to finish`,
        async () => {
          const items = await listDelegations(`${LABEL}=restart`);
          return items.length === COUNT && items.every(isTerminal) ? items : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      timings.drainAfterTakeoverMs = Math.round(performance.now() - t1);
      for (const d of final) {
        expect(d.status?.phase, d.metadata.name).toBe("Succeeded");
        expect(d.status?.result).toBe(`ok:${d.spec.task}`);
      }
      // The watch caught up with the final state; each uid went terminal once and was never rewritten.
      await eventually("the watch to see every terminal state", async () =>
        uids.every((uid) => terminalStates.has(uid)) ? true : undefined,
      );
      await sleep(2_000);
      for (const uid of uids) {
        const phases = transitions.get(uid)!;
        expect(
          phases.filter((p) => p === "Succeeded" || p === "Failed"),
          `${uid}: ${phases.join(">")}`,
        ).toEqual(["Succeeded"]);
        expect(phases.at(-1)).toBe("Succeeded");
        expect(terminalStates.get(uid)?.size, uid).toBe(1);
      }
      // Those the first operator had running were taken over as a new attempt.
      const interrupted = final.filter((d) => d.status?.attempts?.some((a) => a.reason === "Interrupted"));
      timings.interrupted = interrupted.length;
      expect(interrupted.length).toBeGreaterThan(0);
      for (const d of interrupted) expect(d.status?.attempts?.at(-1)?.outcome).toBe("Succeeded");
    } finally {
      await watch.stop();
    }
  });

  it("fails over to the other pod when the pod running a delegation dies", async () => {
    const created = await createDelegation({ team: "company", to: "researcher", task: "failover task" });
    const name = created.metadata.name!;
    const running = await eventually(
      "the delegation Running on a pod",
      async () => {
        const d = await getDelegation(name);
        return d.status?.phase === "Running" && d.status.pod ? d : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const victim = running.status!.pod!;
    const t0 = performance.now();
    await podAgent!.kill(victim, NS);
    const d = await waitTerminal(name);
    timings.failoverMs = Math.round(performance.now() - t0);
    expect(d.status?.phase).toBe("Succeeded");
    expect(d.status?.result).toBe("ok:failover task");
    const survivor = (await agentPods("researcher")).map((p) => p.metadata.name).find((p) => p !== victim);
    expect(d.status?.pod).toBe(survivor);
    expect(d.status?.attempts?.map((a) => [a.number, a.pod, a.outcome])).toEqual([
      [1, victim, "Failed"],
      [2, survivor, "Succeeded"],
    ]);
    expect(d.status?.attempts?.[0]?.reason).toBe("AgentUnavailable");
  });

  it("exports on /metrics what the new leader finished, each Delegation once, with agents' utilisation", async () => {
    // After the takeover, a delegation between agents (an edge) with its tokens.
    const { status, body } = await rest("/v1/delegations", tokens.ceo!, { agent: "writer", task: "metrics edge" });
    expect(status).toBe(200);
    const leader = operators.at(-1)!;
    const scrape = async () => parseMetrics(await (await fetch(`http://${leader.metrics()}/metrics`)).text());
    const samples = await scrape();
    const all = await listDelegations();
    const byLeader = all.filter((d) => isTerminal(d) && !finishedByFirst.has(d.metadata.uid!));
    expect(byLeader.length).toBeGreaterThan(1);
    // Every Delegation the new leader finished counted once, none of those the first had finished.
    const expected = new Map<string, number>();
    for (const d of byLeader) {
      const key = labelKey({
        namespace: NS,
        team: d.spec.team ?? "",
        agent: d.status?.agent ?? d.spec.to ?? "",
        outcome: d.status!.phase!,
        reason: d.status!.reason!,
      });
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const finished = new Map(
      samples.filter((s) => s.name === "clawcrew_delegations_finished_total").map((s) => [labelKey(s.labels), s.value]),
    );
    expect(finished).toEqual(expected);
    const value = (name: string, labels: Record<string, string>) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    const researcher = { namespace: NS, team: "company", agent: "researcher" };
    const researcherDone = byLeader.filter((d) => d.status?.agent === "researcher" && d.spec.team === "company");
    expect(value("clawcrew_delegation_duration_seconds_count", researcher)).toBe(researcherDone.length);
    expect(value("clawcrew_delegation_queue_wait_seconds_count", researcher)).toBe(researcherDone.length);
    const attempts = researcherDone.flatMap((d) => d.status?.attempts ?? []);
    expect(value("clawcrew_delegation_attempts_total", researcher)).toBe(attempts.length);
    // Taken over from the killed operator (Interrupted), and moved off the killed pod: failovers.
    const interrupted = attempts.filter((a) => a.reason === "Interrupted").length;
    expect(interrupted).toBeGreaterThan(0);
    expect(value("clawcrew_delegation_failovers_total", { ...researcher, reason: "Interrupted" })).toBe(interrupted);
    expect(value("clawcrew_delegation_failovers_total", { ...researcher, reason: "AgentUnavailable" })).toBe(1);
    expect(value("clawcrew_delegation_edges_total", { namespace: NS, from: "ceo", to: "writer" })).toBe(1);
    expect(value("clawcrew_delegation_edge_duration_seconds_count", { namespace: NS, from: "ceo", to: "writer" })).toBe(
      1,
    );
    // Tokens as the stub gateways reported them, summed per agent, labelled with the Agent's model.
    const usage = (agent: string, key: "promptTokens" | "completionTokens") =>
      byLeader
        .filter((d) => d.status?.agent === agent && d.status.phase === "Succeeded")
        .reduce((sum, d) => sum + (d.status?.usage?.[key] ?? 0), 0);
    const writer = { namespace: NS, agent: "writer", model: "openai/gpt-5" };
    expect(body.usage?.promptTokens).toBeGreaterThan(0);
    expect(value("clawcrew_tokens_total", { ...writer, type: "prompt" })).toBe(usage("writer", "promptTokens"));
    expect(value("clawcrew_tokens_total", { ...writer, type: "completion" })).toBe(usage("writer", "completionTokens"));
    expect(value("clawcrew_tokens_total", { namespace: NS, agent: "researcher", type: "prompt" })).toBe(
      usage("researcher", "promptTokens"),
    );
    // Per-agent gauges of the leader, and the leader gauge the PrometheusRule watches.
    // The failover test killed one researcher pod, and the pod network does not restart it.
    await eventually("ready replicas as the pods are", async () => {
      const now = await scrape();
      const ready = (agent: string) =>
        now.find((s) => s.name === "clawcrew_agent_ready_replicas" && s.labels.agent === agent)?.value;
      return ready("researcher") === 1 && ready("writer") === 1 && ready("ceo") === 1 ? now : undefined;
    });
    expect(value("clawcrew_agent_utilization_ratio", { namespace: NS, agent: "writer" })).toBe(0);
    expect(value("clawcrew_agent_slots", { namespace: NS, agent: "researcher" })).toBe(8); // 1 ready × 8
    expect(value("leader_election_master_status", { name: "clawcrew-operator" })).toBe(1);
  });

  // The fault soak's "run more often than recorded": a leader killed right after it sent a request left no
  // trace of that attempt, and the next leader ran the task again as attempt 1.
  it("run-more-often-than-recorded: a leader killed just after sending has recorded the attempt", async () => {
    const executions = async (uid: string) => {
      let sum = 0;
      for (const pod of (await agentPods("researcher")).filter(isReady)) {
        const response = await fetch(`http://${pod.status!.podIP}:${GATEWAY_PORT}/stats`);
        const stats = (await response.json()) as { byUser: Record<string, number> };
        sum += stats.byUser[`clawcrew:${uid}`] ?? 0;
      }
      return sum;
    };
    const created = await createDelegation({ team: "company", to: "researcher", task: "killed mid-request" });
    const uid = created.metadata.uid!;
    // Kill the leader the moment a worker has the request (the stub holds its answer 1.5 s).
    await eventually("the worker to get the request", async () => ((await executions(uid)) === 1 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 10,
    });
    const leader = operators.at(-1)!;
    leader.child.kill("SIGKILL");
    await leader.exited;
    await operator("op-3");
    const d = await waitTerminal(created.metadata.name!);
    expect(d.status?.phase).toBe("Succeeded");
    expect(await executions(uid)).toBe(2);
    // Every execution the workers saw is on the record: the killed one Interrupted, then the one that answered.
    expect(d.status?.attempts?.map((a) => [a.number, a.outcome, a.reason])).toEqual([
      [1, "Failed", "Interrupted"],
      [2, "Succeeded", undefined],
    ]);
  });
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]),
    );
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const labelKey = (labels: Record<string, string>) =>
  ["namespace", "team", "agent", "outcome", "reason"].map((k) => labels[k] ?? "").join("|");
