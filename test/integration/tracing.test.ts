/**
 * Traces across delegation hops, read back from a real trace backend: Jaeger (built from its Go module by
 * the harness) on loopback takes the operator's OTLP/HTTP export. The REAL operator process runs against
 * the real control plane, with stub gateways in a pod network (like delegation-flow.test.ts): the lead's
 * stub delegates to the worker through the operator's REST endpoint, passing on the traceparent it got;
 * the worker's stub delegates to the sub-worker without one (its trace comes from the parent Delegation).
 * A second operator takes over a Delegation whose attempt the first was running when it was killed.
 * Needs root (network namespaces, a bridge), like podnet.test.ts.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ControlPlane,
  eventually,
  freePorts,
  GVR,
  installCrds,
  installSignalCleanup,
  isReady,
  type Jaeger,
  type JaegerSpan,
  type JaegerTrace,
  kubectlOk,
  namespaceApi,
  type Obj,
  type OperatorProcess,
  startControlPlane,
  startJaeger,
  startOperator,
} from "../../harness/index.ts";
import {
  acquirePodNetwork,
  BRIDGE_ADDRESS,
  type PodAgent,
  type PodNetwork,
  startPodAgent,
} from "../../harness/podnet/index.ts";
import type { Delegation } from "../../src/api/delegation.ts";
import { ANNOTATION_TRACEPARENT } from "../../src/api/labels.ts";
import { isTerminal } from "../../src/delegation/delegation-object.ts";
import { KubeClient } from "../../src/runtime/client.ts";
import { attemptSpanIdOf, delegationSpanIdOf, traceIdOf } from "../../src/tracing/spans.ts";

const NS = "tracing";
const GATEWAY_PORT = 18789;
/** The slow agent holds each answer this long: long enough to kill the operator mid-attempt. */
const SLOW_DELAY_MS = 6_000;
/**
 * Delegating stubs wait this long first: the endpoint admits a parent only once the cache shows it
 * Running, which the operator writes 250 ms into an attempt (a real agent thinks longer than that).
 */
const DELEGATOR_DELAY_MS = 1_500;

describe("traces of delegations across hops, in Jaeger", () => {
  let cp: ControlPlane | undefined;
  let network: PodNetwork | undefined;
  let podAgent: PodAgent | undefined;
  let jaeger: Jaeger | undefined;
  const operators: OperatorProcess[] = [];
  let removeSignalCleanup: (() => void) | undefined;
  let client: KubeClient;
  let port: number;
  let endpoint: string;

  const { api, agentPods } = namespaceApi(() => client, NS);
  const getDelegation = (name: string) => client.get<Delegation>(api(GVR.delegations, name));
  const waitTerminal = (name: string, timeoutMs = 90_000) =>
    eventually(
      `Delegation ${name} to finish`,
      async () => {
        const d = await getDelegation(name);
        return isTerminal(d) ? d : undefined;
      },
      { timeoutMs },
    );
  /** The trace once it holds `count` spans (the operator exports in batches). */
  const traceWith = (traceId: string, count: number) =>
    eventually(
      `trace ${traceId} to hold ${count} spans in Jaeger`,
      async () => {
        const t = await jaeger!.trace(traceId);
        return t && t.spans.length >= count ? t : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );

  async function operator(identity: string): Promise<OperatorProcess> {
    const op = await startOperator(
      cp!.kubeconfigPath,
      identity,
      [
        `--namespace=${NS}`,
        `--leader-election-namespace=${NS}`,
        `--delegation-bind-address=${BRIDGE_ADDRESS}:${port}`,
        `--delegation-url=http://${BRIDGE_ADDRESS}:${port}/mcp`,
        "--lease-duration-seconds=4",
      ],
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger!.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "200" } },
    );
    operators.push(op);
    await eventually(
      `operator ${identity} to lead`,
      async () => {
        if (op.child.exitCode !== null) throw new Error(`operator ${identity} exited: see ${op.logFile}`);
        return op.logs.some((l) => l.msg === "controllers started") ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
    return op;
  }

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root: it creates network namespaces and a bridge");
    removeSignalCleanup = installSignalCleanup();
    jaeger = await startJaeger();
    network = await acquirePodNetwork({ waitMs: 900_000, log: () => {} });
    cp = await startControlPlane({ podReadiness: "external", log: () => {} });
    client = KubeClient.load({ kubeconfig: cp.kubeconfigPath });
    await installCrds(cp.kubeconfigPath);
    await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NS } } });
    port = (await freePorts(1, BRIDGE_ADDRESS))[0]!;
    endpoint = `http://${BRIDGE_ADDRESS}:${port}`;
    await operator("op-1");
    const delegating = (to: string, team: string, forward: boolean) => ({
      STUB_DELEGATE_URL: endpoint,
      STUB_DELEGATE_TO: to,
      STUB_DELEGATE_TEAM: team,
      STUB_DELAY_MS: `${DELEGATOR_DELAY_MS}`,
      ...(forward && { STUB_FORWARD_TRACEPARENT: "1" }),
    });
    podAgent = startPodAgent({
      kubeconfig: cp.kubeconfigPath,
      runtime: "stub",
      namespace: NS,
      stubEnv: (pod): Record<string, string> => {
        const agent = pod.metadata?.labels?.["clawcrew.io/agent"];
        if (agent === "lead") return delegating("worker", "chain", true);
        if (agent === "worker") return delegating("subworker", "sub", false);
        if (agent === "slow") return { STUB_DELAY_MS: `${SLOW_DELAY_MS}` };
        return {};
      },
      log: () => {},
    });
    const agent = (name: string) => ({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Agent",
      metadata: { name, namespace: NS },
      spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" } },
    });
    const team = (name: string, lead: string, member: string) => ({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "AgentTeam",
      metadata: { name, namespace: NS },
      spec: { pattern: "hubAndSpoke", lead, members: [{ agent: member, role: `The ${member}.` }] },
    });
    await kubectlOk(cp.kubeconfigPath, ["apply", "-f", "-"], {
      apiVersion: "v1",
      kind: "List",
      items: [
        ...["lead", "worker", "subworker", "slow"].map(agent),
        team("chain", "lead", "worker"),
        team("sub", "worker", "subworker"),
      ],
    });
    await eventually(
      "a Ready pod of every agent",
      async () => {
        for (const name of ["lead", "worker", "subworker", "slow"]) {
          if ((await agentPods(name)).filter(isReady).length !== 1) return undefined;
          const status = (await client.get<Obj>(api(GVR.agents, name))).status;
          if (status?.readyReplicas !== 1) return undefined;
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }, 1_200_000);

  afterAll(async () => {
    try {
      for (const op of operators) await op.stop();
      await podAgent?.stop();
      await network?.destroy();
      client?.close();
      await cp?.stop();
      await jaeger?.stop();
    } finally {
      removeSignalCleanup?.();
    }
  }, 120_000);

  const byId = (t: JaegerTrace, spanId: string): JaegerSpan => {
    const span = t.spans.find((s) => s.spanID === spanId);
    if (!span) throw new Error(`no span ${spanId} in trace ${t.traceID}: ${t.spans.map((s) => s.operationName)}`);
    return span;
  };
  const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === "CHILD_OF")?.spanID;
  const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
  const stubTraceparents = async (agent: string): Promise<string[]> => {
    const [pod] = await agentPods(agent);
    const response = await fetch(`http://${pod!.status!.podIP}:${GATEWAY_PORT}/stats`);
    return ((await response.json()) as { traceparents: string[] }).traceparents;
  };

  it("a lead → worker → sub-worker chain arrives as one trace with the right parent-child links", async () => {
    // A person's trace: the Delegation is created with its traceparent, as a CI job would.
    const traceId = randomBytes(16).toString("hex");
    const rootSpan = randomBytes(8).toString("hex");
    const created = await client.request<Delegation>("POST", api(GVR.delegations), {
      body: {
        apiVersion: "clawcrew.io/v1alpha1",
        kind: "Delegation",
        metadata: { generateName: "chain-", annotations: { [ANNOTATION_TRACEPARENT]: `00-${traceId}-${rootSpan}-01` } },
        spec: { team: "chain", to: "lead", task: "plan" },
      },
    });
    const lead = await waitTerminal(created.metadata.name!);
    expect(lead.status, lead.status?.message).toMatchObject({
      phase: "Succeeded",
      result: "ok:plan <- ok:plan / worker <- ok:plan / worker / subworker",
    });
    const all = (await client.get<{ items: Delegation[] }>(api(GVR.delegations))).items;
    const worker = all.find((d) => d.spec.from === "lead" && d.spec.parent === lead.metadata.name)!;
    const sub = all.find((d) => d.spec.from === "worker" && d.spec.parent === worker?.metadata.name)!;
    expect(worker?.status?.phase).toBe("Succeeded");
    expect(sub?.status?.phase).toBe("Succeeded");
    // kubectl get shows where to look.
    for (const d of [lead, worker, sub]) expect(d.status?.traceID).toBe(traceId);

    // 3 Delegation spans, 3 attempt spans, 2 endpoint spans.
    const t = await traceWith(traceId, 8);
    expect(t.spans).toHaveLength(8);
    expect(new Set(t.spans.map((s) => t.processes[s.processID]?.serviceName))).toEqual(new Set(["clawcrew-operator"]));
    const delegationSpan = (d: Delegation) => byId(t, delegationSpanIdOf(d.metadata.uid!));
    const attemptSpan = (d: Delegation) => {
      expect(d.status?.attempts).toHaveLength(1);
      return byId(t, attemptSpanIdOf(d.metadata.uid!, d.status!.attempts![0]!.id!));
    };
    const endpointSpans = t.spans.filter((s) => s.operationName === "delegate");
    expect(endpointSpans).toHaveLength(2);
    const endpointFor = (d: Delegation) =>
      endpointSpans.find((s) => tag(s, "clawcrew.delegation.name") === d.metadata.name)!;

    // The person's span → the lead's Delegation → its attempt (the gateway call).
    expect(parentOf(delegationSpan(lead))).toBe(rootSpan);
    expect(delegationSpan(lead).operationName).toBe("delegation lead");
    expect(parentOf(attemptSpan(lead))).toBe(delegationSpan(lead).spanID);
    expect(tag(attemptSpan(lead), "span.kind")).toBe("client");
    // The lead's agent passed on the traceparent it got: the endpoint's span continues it.
    expect(parentOf(endpointFor(worker))).toBe(attemptSpan(lead).spanID);
    expect(tag(endpointFor(worker), "span.kind")).toBe("server");
    expect(parentOf(delegationSpan(worker))).toBe(endpointFor(worker).spanID);
    expect(parentOf(attemptSpan(worker))).toBe(delegationSpan(worker).spanID);
    // The worker's agent passed none: the endpoint put its span under the parent Delegation's.
    expect(parentOf(endpointFor(sub))).toBe(delegationSpan(worker).spanID);
    expect(parentOf(delegationSpan(sub))).toBe(endpointFor(sub).spanID);
    expect(parentOf(attemptSpan(sub))).toBe(delegationSpan(sub).spanID);
    expect(tag(delegationSpan(sub), "clawcrew.delegation.phase")).toBe("Succeeded");
    expect(tag(attemptSpan(sub), "gen_ai.agent.name")).toBe("subworker");

    // Each gateway call carried the traceparent of its attempt's span.
    for (const [agent, d] of [
      ["lead", lead],
      ["worker", worker],
      ["subworker", sub],
    ] as const) {
      expect(await stubTraceparents(agent)).toContain(`00-${traceId}-${attemptSpan(d).spanID}-01`);
    }
  }, 120_000);

  it("a Delegation that another operator takes over is one trace: the attempt cut short, then the one that finished", async () => {
    const created = await client.request<Delegation>("POST", api(GVR.delegations), {
      body: {
        apiVersion: "clawcrew.io/v1alpha1",
        kind: "Delegation",
        metadata: { generateName: "moved-" },
        spec: { to: "slow", task: "take your time" },
      },
    });
    const name = created.metadata.name!;
    const uid = created.metadata.uid!;
    await eventually("the slow agent to be working on it", async () => {
      const d = await getDelegation(name);
      return d.status?.phase === "Running" ? d : undefined;
    });
    const first = operators[0]!;
    first.child.kill("SIGKILL");
    await first.exited;
    await operator("op-2");
    const d = await waitTerminal(name, 120_000);
    expect(d.status?.phase).toBe("Succeeded");
    // No traceparent: the trace is named by the uid, so both operators put their spans in it.
    expect(d.status?.traceID).toBe(traceIdOf(uid));
    const attempts = d.status!.attempts!;
    expect(attempts.map((a) => [a.outcome, a.reason])).toEqual([
      ["Failed", "Interrupted"],
      ["Succeeded", undefined],
    ]);

    const t = await traceWith(traceIdOf(uid), 3);
    expect(t.spans).toHaveLength(3);
    const own = byId(t, delegationSpanIdOf(uid));
    expect(parentOf(own)).toBeUndefined();
    const [cut, finished] = attempts.map((a) => byId(t, attemptSpanIdOf(uid, a.id!)));
    for (const span of [cut!, finished!]) expect(parentOf(span)).toBe(own.spanID);
    expect(tag(cut!, "error")).toBe(true);
    expect(tag(cut!, "otel.status_description")).toBe("Interrupted");
    expect(tag(finished!, "error")).toBeUndefined();
    // The Delegation's span covers both attempts, though the process that started the first is gone.
    expect(own.startTime).toBeLessThanOrEqual(cut!.startTime);
    expect(own.startTime + own.duration).toBeGreaterThanOrEqual(finished!.startTime + finished!.duration);
  }, 240_000);
});
