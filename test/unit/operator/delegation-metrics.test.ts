import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { Delegation, DelegationStatus } from "../../../src/api/delegation.ts";
import { realClock } from "../../../src/delegation/clock.ts";
import { finisher } from "../../../src/delegation/finish.ts";
import type { DelegationMetrics } from "../../../src/delegation/finished-metrics.ts";
import { RecentWrites } from "../../../src/delegation/recent-writes.ts";
import { cancelled } from "../../../src/delegation/status.ts";
import { createDelegationMetrics } from "../../../src/operator/delegation-metrics.ts";
import { FakeServer, flush, harness, T0 } from "../delegation/fakes.ts";

const CREATED = "2026-01-01T00:00:00Z";
const at = (s: number) => new Date(Date.parse(CREATED) + s * 1000).toISOString().replace(/\.000Z$/, "Z");

function delegation(spec: Partial<Delegation["spec"]>, status: DelegationStatus): Delegation {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { name: "d", namespace: "ns", uid: "u", creationTimestamp: CREATED },
    spec: { task: "t", priority: 0, ...spec },
    status,
  };
}

const attempt = (number: number, start: number, outcome: "Succeeded" | "Failed", pod: string, reason?: string) => ({
  id: `a${number}`,
  number,
  agent: "writer",
  pod,
  startTime: at(start),
  completionTime: at(start + 1),
  outcome,
  ...(reason && { reason }),
});

/** A lead's Delegation to writer: AgentError on pod-a, PodGone on pod-a (a retry), answered on pod-c (a failover). */
const retried = delegation(
  { team: "news", to: "writer", from: "lead" },
  {
    phase: "Succeeded",
    reason: "Completed",
    agent: "writer",
    attempts: [
      attempt(1, 3, "Failed", "pod-a", "AgentError"),
      attempt(2, 5, "Failed", "pod-a", "PodGone"),
      attempt(3, 8, "Succeeded", "pod-c"),
    ],
    usage: { promptTokens: 300, completionTokens: 16, totalTokens: 316 },
    completionTime: at(12),
  },
);

function setup() {
  const registry = new Registry();
  const metrics = createDelegationMetrics(registry);
  const agents = [{ namespace: "ns", agent: "writer", inFlight: 3, readyReplicas: 2, slots: 4 }];
  metrics.observeAgents({
    capacity: () => agents,
    modelOf: (_ns, agent) => (agent === "writer" ? "stub/stub-model" : ""),
  });
  /** The sample of `name` whose labels include `labels`, from the text a scrape reads. */
  const value = async (name: string, labels: Record<string, string>) => {
    for (const line of (await registry.metrics()).split("\n")) {
      const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
      if (m?.[1] !== name) continue;
      const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      if (Object.entries(labels).every(([k, want]) => have[k] === want)) return Number(m[3]);
    }
    return undefined;
  };
  return { registry, metrics, value, agents };
}

describe("delegation metrics", () => {
  it("count a finished Delegation's outcome, times, attempts, retries apart from failovers, edge and tokens", async () => {
    const { metrics, value } = setup();
    metrics.finished(retried);
    const base = { namespace: "ns", team: "news", agent: "writer" };
    expect(
      await value("clawcrew_delegations_finished_total", { ...base, outcome: "Succeeded", reason: "Completed" }),
    ).toBe(1);
    expect(await value("clawcrew_delegation_duration_seconds_sum", { ...base, outcome: "Succeeded" })).toBe(12);
    expect(await value("clawcrew_delegation_queue_wait_seconds_sum", base)).toBe(3);
    expect(await value("clawcrew_delegation_queue_wait_seconds_bucket", { ...base, le: "2.5" })).toBe(0);
    expect(await value("clawcrew_delegation_queue_wait_seconds_bucket", { ...base, le: "5" })).toBe(1);
    expect(
      await value("clawcrew_delegation_attempts_total", { ...base, outcome: "Failed", reason: "AgentError" }),
    ).toBe(1);
    expect(await value("clawcrew_delegation_attempts_total", { ...base, outcome: "Failed", reason: "PodGone" })).toBe(
      1,
    );
    expect(
      await value("clawcrew_delegation_attempts_total", { ...base, outcome: "Succeeded", reason: "Completed" }),
    ).toBe(1);
    expect(await value("clawcrew_delegation_retries_total", { ...base, reason: "AgentError" })).toBe(1);
    expect(await value("clawcrew_delegation_failovers_total", { ...base, reason: "PodGone" })).toBe(1);
    const edge = { namespace: "ns", from: "lead", to: "writer" };
    expect(await value("clawcrew_delegation_edges_total", { ...edge, outcome: "Succeeded" })).toBe(1);
    expect(await value("clawcrew_delegation_edge_duration_seconds_count", edge)).toBe(1);
    const tokens = { namespace: "ns", agent: "writer", model: "stub/stub-model" };
    expect(await value("clawcrew_tokens_total", { ...tokens, type: "prompt" })).toBe(300);
    expect(await value("clawcrew_tokens_total", { ...tokens, type: "completion" })).toBe(16);
  });

  it("class unknown reasons as Other, count unknown usage apart, and skip Delegations that are not finished", async () => {
    const { registry, metrics, value } = setup();
    metrics.finished(delegation({ to: "writer" }, { phase: "Failed", reason: "Something new", agent: "writer" }));
    metrics.finished(
      delegation({ to: "writer" }, { phase: "Succeeded", reason: "Completed", usage: { unknown: true } }),
    );
    metrics.finished(delegation({ to: "writer" }, { phase: "Running" }));
    const base = { namespace: "ns", team: "", agent: "writer" };
    expect(await value("clawcrew_delegations_finished_total", { ...base, outcome: "Failed", reason: "Other" })).toBe(1);
    expect(await value("clawcrew_delegations_usage_unknown_total", { namespace: "ns", agent: "writer" })).toBe(1);
    const text = await registry.metrics();
    expect(text).not.toMatch(/^clawcrew_tokens_total\{/m);
    expect(text).not.toContain("Something new");
    expect(text.match(/^clawcrew_delegations_finished_total\{/gm)).toHaveLength(2);
  });

  it("export utilisation, ready replicas and slots per agent at scrape time", async () => {
    const { value } = setup();
    const labels = { namespace: "ns", agent: "writer" };
    expect(await value("clawcrew_agent_utilization_ratio", labels)).toBe(0.75);
    expect(await value("clawcrew_agent_ready_replicas", labels)).toBe(2);
    expect(await value("clawcrew_agent_slots", labels)).toBe(4);
  });

  it("remove every series naming a deleted Agent, as agent, from or to, and a deleted team's", async () => {
    const { registry, metrics, agents } = setup();
    agents.length = 0; // the per-agent gauges follow the Agent cache, not this
    metrics.finished(retried);
    metrics.finished(delegation({ to: "other" }, { phase: "Succeeded", reason: "Completed", agent: "other" }));
    metrics.forgetAgent("ns", "lead");
    expect(await registry.metrics()).not.toMatch(/from="lead"/);
    expect(await registry.metrics()).toMatch(/^clawcrew_delegations_finished_total\{.*agent="writer"/m);
    metrics.forgetTeam("ns", "news");
    const text = await registry.metrics();
    expect(text).not.toMatch(/team="news"/);
    expect(text).toMatch(/^clawcrew_delegations_finished_total\{.*agent="other"/m);
    expect(text).toMatch(/^clawcrew_tokens_total\{.*agent="writer"/m); // tokens name no team
    metrics.forgetAgent("ns", "writer");
    expect(await registry.metrics()).not.toMatch(/agent="writer"/);
  });
});

describe("the dispatcher's terminal path", () => {
  it("reports each Delegation once, after the write that finished it, with its attempts", async () => {
    const seen: Delegation[] = [];
    const metrics: DelegationMetrics = { finished: (d) => seen.push(structuredClone(d)) };
    const h = harness({ metrics, backoff: { initialMs: 10, maxMs: 10, jitter: 0 } });
    h.endpoints.set("worker", ["pod-a", "pod-b"]);
    const d = h.server.create("retried", {}, undefined, T0);
    h.dispatcher.submit(d);
    await flush();
    h.transport.fail(h.transport.open()[0]!, 503);
    await flush();
    await h.clock.advance(20);
    h.transport.succeed(h.transport.open()[0]!);
    await flush();
    h.dispatcher.submit(h.server.get(d.metadata.uid!)); // the finished object, seen again
    await flush();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.status).toMatchObject({ phase: "Succeeded", usage: { totalTokens: 3 } });
    expect(seen[0]?.status?.attempts?.map((a) => a.outcome)).toEqual(["Failed", "Succeeded"]);
  });

  it("does not report a Delegation another writer finished first", async () => {
    const seen: Delegation[] = [];
    const h = harness({ metrics: { finished: (d) => seen.push(d) } });
    h.endpoints.set("worker", ["pod-a"]);
    const d = h.server.create("taken");
    h.dispatcher.submit(d);
    await flush();
    h.server.external(d.metadata.uid!, { phase: "Failed", reason: "Cancelled" });
    h.transport.succeed(h.transport.open()[0]!);
    await flush();
    // Only the attempt's record, before its request; no terminal write.
    expect(h.server.writesOf("taken").map((s) => s.phase)).toEqual(["Running"]);
    expect(seen).toEqual([]);
  });

  it("reports a Delegation the reconciler finishes (a cancel) once, not again from a stale copy", async () => {
    const seen: Delegation[] = [];
    const server = new FakeServer();
    const finish = finisher({
      writer: server,
      recent: new RecentWrites(),
      clock: realClock,
      metrics: { finished: (d) => seen.push(d) },
    });
    const d = server.create("cancel-me");
    expect(await finish(d, cancelled())).toBeDefined();
    // A stale copy (another worker, or a new leader's cache) finds it finished: no write, no count.
    expect(await finish(d, cancelled("again"))).toBeUndefined();
    expect(seen.map((s) => [s.metadata.name, s.status?.phase, s.status?.reason])).toEqual([
      ["cancel-me", "Failed", "Cancelled"],
    ]);
  });
});
