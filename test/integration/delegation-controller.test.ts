/**
 * The Delegation controller and Dispatcher in-process against the real API server. Agents,
 * their token Secrets and EndpointSlices are real objects (no Agent controller runs, so nothing
 * else touches them); the "pods" are stub gateways on 127.0.0.1, reached through the
 * EndpointTracker's `resolve` override. Slice IPs are never dialled.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { argoHealth, eventually, installCrds, kstatus, kubectlOk, uniqueName } from "../../harness/index.ts";
import { testLogger } from "../../harness/vitest.ts";
import type { Delegation } from "../../src/api/delegation.ts";
import { createDelegationController, type DelegationController } from "../../src/delegation/controller.ts";
import { isTerminal } from "../../src/delegation/delegation-object.ts";
import { summarizeFinished } from "../../src/delegation/finished-summary.ts";
import type { PodEndpoint } from "../../src/delegation/pod-endpoints.ts";
import { KubeClient } from "../../src/runtime/client.ts";
import { isNotFound } from "../../src/runtime/errors.ts";
import { Informer } from "../../src/runtime/informer.ts";
import { resourcePath } from "../../src/runtime/resource.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("delegation");
const MANAGED = "app.kubernetes.io/managed-by=clawcrew";
const GVR = {
  delegations: { group: "clawcrew.io", version: "v1alpha1", plural: "delegations" },
  agents: { group: "clawcrew.io", version: "v1alpha1", plural: "agents" },
  teams: { group: "clawcrew.io", version: "v1alpha1", plural: "agentteams" },
  slices: { group: "discovery.k8s.io", version: "v1", plural: "endpointslices" },
  secrets: { group: "", version: "v1", plural: "secrets" },
  configmaps: { group: "", version: "v1", plural: "configmaps" },
};

// biome-ignore lint/suspicious/noExplicitAny: JSON objects
type Obj = Record<string, any>;

// ------------------------------------------------------------------ stub gateways

interface StubOptions {
  delayMs?: number;
  /** Answers 503 to the first request of each `user`, across every stub sharing `firstSeen`. */
  failFirst?: Set<string>;
  reply?: (task: string) => string;
}

interface Stub {
  pod: string;
  server: Server;
  port: number;
  token: string;
  requests: { user: string; task: string }[];
  /** Requests whose client went away before the answer. */
  aborted: string[];
  options: StubOptions;
}

const stubs = new Map<string, Stub>();

async function startStub(pod: string, token: string, options: StubOptions = {}): Promise<Stub> {
  const stub: Stub = {
    pod,
    server: undefined as unknown as Server,
    port: 0,
    token,
    requests: [],
    aborted: [],
    options,
  };
  stub.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.headers.authorization !== `Bearer ${stub.token}`) {
        res.writeHead(401).end("bad token");
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Obj;
      const task = String(body.messages.at(-1).content);
      const user = String(body.user);
      stub.requests.push({ user, task });
      if (stub.options.failFirst && !stub.options.failFirst.has(user)) {
        stub.options.failFirst.add(user);
        res.writeHead(503).end("warming up");
        return;
      }
      let done = false;
      res.on("close", () => {
        if (!done) stub.aborted.push(user);
      });
      setTimeout(() => {
        if (res.destroyed) return;
        done = true;
        const content = stub.options.reply ? stub.options.reply(task) : `ok:${task}`;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            choices: [{ message: { role: "assistant", content } }],
            usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
          }),
        );
      }, stub.options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => stub.server.listen(0, "127.0.0.1", resolve));
  stub.port = (stub.server.address() as AddressInfo).port;
  stubs.set(pod, stub);
  return stub;
}

/** Maps pods to stubs on loopback; anything else is not dialled at all. */
const resolve = (_ns: string, _agent: string, e: PodEndpoint) => {
  const stub = stubs.get(e.pod);
  return stub ? { host: "127.0.0.1", port: stub.port } : undefined;
};

// ------------------------------------------------------------------ cluster objects

const client = KubeClient.load({ kubeconfig });

const post = (gvr: (typeof GVR)[keyof typeof GVR], body: Obj) =>
  client.request<Obj>("POST", resourcePath(gvr, { namespace: ns }), { body });
/** kstatus's verdict (what Flux reads) and deploy/argocd/health/Delegation.lua's, on the real object. */
async function expectVerdicts(d: Delegation, flux: string, argo: string) {
  const [ks, hs] = await Promise.all([kstatus(d), argoHealth(d)]);
  expect({ kstatus: ks.status, argo: hs.status }).toEqual({ kstatus: flux, argo });
  if (d.status?.phase === "Failed") {
    if (d.status.message) expect(ks.message).toBe(d.status.message);
    expect(hs.message).toContain(d.status.reason);
  }
}

const getDelegation = (name: string) => client.get<Delegation>(resourcePath(GVR.delegations, { namespace: ns, name }));

async function createAgent(name: string, replicas: number, spec: Obj, stub: StubOptions = {}): Promise<void> {
  const agent = await post(GVR.agents, {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name },
    spec: {
      description: `The ${name}.`,
      soul: `# ${name}`,
      model: { primary: "openai/gpt-5" },
      replicas,
      ...spec,
    },
  });
  const token = `tok-${name}-${Math.random().toString(16).slice(2)}`;
  await post(GVR.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `${name}-token`,
      labels: { "app.kubernetes.io/managed-by": "clawcrew", "clawcrew.io/agent": name },
      ownerReferences: [
        { apiVersion: "clawcrew.io/v1alpha1", kind: "Agent", name, uid: agent.metadata.uid, controller: true },
      ],
    },
    stringData: { token },
  });
  const pods = Array.from({ length: replicas }, (_, i) => `${name}-${i}`);
  for (const pod of pods) await startStub(pod, token, stub);
  await post(GVR.slices, sliceFor(name, pods));
}

function sliceFor(agent: string, pods: string[], extra: Obj = {}): Obj {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${agent}-slice`,
      labels: {
        "app.kubernetes.io/managed-by": "clawcrew",
        "clawcrew.io/agent": agent,
        "kubernetes.io/service-name": agent,
      },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 18789, protocol: "TCP" }],
    // 10.250.x.x addresses like kwok's: never dialled, resolve maps the pods to loopback.
    endpoints: pods.map((pod, i) => ({
      addresses: [`10.250.9.${i + 1}`],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: "Pod", name: pod, namespace: ns, uid: `uid-${pod}` },
      ...extra,
    })),
  };
}

let seq = 0;
async function createDelegation(spec: Obj, metadata: Obj = {}): Promise<Delegation> {
  return (await post(GVR.delegations, {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { name: `d${++seq}-${Math.random().toString(16).slice(2, 6)}`, ...metadata },
    spec,
  })) as Delegation;
}

const waitTerminal = (name: string, timeoutMs = 60_000) =>
  eventually(
    `${name} to finish`,
    async () => {
      const d = await getDelegation(name);
      return isTerminal(d) ? d : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );

// ------------------------------------------------------------------ the controller

interface Instance {
  informers: Informer<KubernetesObject>[];
  dc: DelegationController;
}

function informer(
  resource: (typeof GVR)[keyof typeof GVR],
  labelSelector?: string,
  transform?: (obj: KubernetesObject) => KubernetesObject,
) {
  return new Informer<KubernetesObject>({
    client,
    resource,
    namespace: ns,
    ...(labelSelector && { labelSelector }),
    ...(transform && { transform }),
    logger: testLogger,
  });
}

async function startInstance(): Promise<Instance> {
  const delegations = informer(GVR.delegations, undefined, summarizeFinished); // as the operator caches them
  const agents = informer(GVR.agents);
  const teams = informer(GVR.teams);
  const endpointSlices = informer(GVR.slices, MANAGED);
  const secrets = informer(GVR.secrets, MANAGED);
  const informers = [delegations, agents, teams, endpointSlices, secrets];
  const dc = createDelegationController({
    client,
    delegations,
    agents,
    teams,
    endpointSlices,
    secrets,
    resolve,
    logger: testLogger,
    backoff: { initialMs: 200, maxMs: 1000 },
  });
  for (const i of informers) i.start();
  await dc.controller.start();
  return { informers, dc };
}

async function stopInstance(instance: Instance): Promise<void> {
  await instance.dc.stop({ graceMs: 5000 });
  await Promise.all(instance.informers.map((i) => i.stop()));
}

/** Counts transitions into a terminal phase per uid, from a watch of its own. */
class TerminalCounter {
  readonly counts = new Map<string, number>();
  readonly informer = informer(GVR.delegations);

  constructor() {
    const seen = (obj: KubernetesObject) => {
      const uid = obj.metadata?.uid ?? "";
      this.counts.set(uid, (this.counts.get(uid) ?? 0) + 1);
    };
    this.informer.on("add", (obj) => {
      if (isTerminal(obj as Delegation)) seen(obj);
    });
    this.informer.on("update", (oldObj, newObj) => {
      if (oldObj !== newObj && !isTerminal(oldObj as Delegation) && isTerminal(newObj as Delegation)) seen(newObj);
    });
    this.informer.start();
  }
}

let instance: Instance | undefined;
let counter: TerminalCounter;

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  counter = new TerminalCounter();
  await createAgent("ceo", 1, {});
  await createAgent("researcher", 2, { capabilities: ["research"] });
  await createAgent("writer", 1, {}, { reply: (task) => `written(${task})` });
  await createAgent("flaky", 2, {}, { failFirst: new Set() });
  await createAgent("slow", 1, {}, { delayMs: 30_000 });
  await createAgent("steady", 2, { maxConcurrentTasks: 4 }, { delayMs: 1500 });
  await createAgent("big", 1, {}, { reply: () => "ü".repeat(30_000) });
  await post(GVR.teams, {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name: "company" },
    spec: { pattern: "hubAndSpoke", lead: "ceo", members: [{ agent: "researcher" }, { agent: "writer" }] },
  });
  await post(GVR.teams, {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name: "draft" },
    spec: { pattern: "pipeline", stages: ["researcher", "writer"] },
  });
  instance = await startInstance();
});

afterAll(async () => {
  if (instance) await stopInstance(instance);
  await counter?.informer.stop();
  for (const stub of stubs.values()) {
    stub.server.closeAllConnections();
    await new Promise((r) => stub.server.close(r));
  }
  await kubectlOk(kubeconfig, ["delete", "namespace", ns, "--wait=false"]).catch(() => undefined);
  client.close();
});

describe("Delegation controller", () => {
  it("delivers a task and records the result inline", async () => {
    const created = await createDelegation({ team: "company", from: "ceo", to: "researcher", task: "find X" });
    const d = await waitTerminal(created.metadata.name!);
    expect(d.status).toMatchObject({
      phase: "Succeeded",
      reason: "Completed",
      result: "ok:find X",
      agent: "researcher",
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
    });
    expect(["researcher-0", "researcher-1"]).toContain(d.status!.pod);
    expect(d.status!.attempts).toHaveLength(1);
    expect(d.status!.attempts![0]).toMatchObject({
      number: 1,
      outcome: "Succeeded",
      podIP: expect.stringMatching(/^10\.250\.9\./),
    });
    expect(d.status!.attempts![0]!.id).toMatch(/^[0-9a-f]{16}$/);
    expect(d.status!.conditions).toEqual([
      expect.objectContaining({ type: "Ready", status: "True", observedGeneration: 1 }),
      expect.objectContaining({ type: "Reconciling", status: "False", observedGeneration: 1 }),
      expect.objectContaining({ type: "Stalled", status: "False", observedGeneration: 1 }),
      expect.objectContaining({ type: "Complete", status: "True" }),
    ]);
    await expectVerdicts(d, "Current", "Healthy");
    const served = [...stubs.values()]
      .flatMap((s) => s.requests)
      .filter((r) => r.user === `clawcrew:${d.metadata.uid}`);
    expect(served).toHaveLength(1);
  });

  it("stores a long result in a ConfigMap owned by the Delegation", async () => {
    const created = await createDelegation({ to: "big", task: "essay" });
    const d = await waitTerminal(created.metadata.name!);
    expect(d.status?.phase).toBe("Succeeded");
    const ref = d.status!.resultRef!;
    expect(ref).toEqual({ name: `${d.metadata.name}-result-1-${d.status!.attempts![0]!.id}`, key: "result" });
    expect(Buffer.byteLength(d.status!.result!)).toBeLessThanOrEqual(16 * 1024);
    expect(d.status!.result).toContain(`[truncated: full result in ConfigMap ${ref.name}]`);
    const cm = await client.get<Obj>(resourcePath(GVR.configmaps, { namespace: ns, name: ref.name }));
    expect(cm.data.result).toBe("ü".repeat(30_000));
    expect(cm.metadata.ownerReferences[0]).toMatchObject({ kind: "Delegation", uid: d.metadata.uid });
  });

  it("retries on the other pod when one fails, and records both attempts", async () => {
    const created = await createDelegation({ to: "flaky", task: "try" });
    const d = await waitTerminal(created.metadata.name!);
    expect(d.status?.phase).toBe("Succeeded");
    const attempts = d.status!.attempts!;
    expect(attempts.map((a) => [a.number, a.outcome, a.reason])).toEqual([
      [1, "Failed", "AgentError"],
      [2, "Succeeded", undefined],
    ]);
    expect(attempts[0]!.pod).not.toBe(attempts[1]!.pod);
  });

  it("times out, aborting the request on the gateway", async () => {
    const started = Date.now();
    const created = await createDelegation({ to: "slow", task: "forever", timeoutSeconds: 2 });
    const d = await waitTerminal(created.metadata.name!);
    expect(d.status).toMatchObject({ phase: "Failed", reason: "TimedOut" });
    expect(d.status!.conditions).toEqual([
      expect.objectContaining({ type: "Ready", status: "False", reason: "TimedOut" }),
      expect.objectContaining({ type: "Reconciling", status: "False", reason: "TimedOut" }),
      expect.objectContaining({ type: "Stalled", status: "True", reason: "TimedOut" }),
      expect.objectContaining({ type: "Failed", reason: "TimedOut" }),
    ]);
    await expectVerdicts(d, "Failed", "Degraded");
    expect(Date.now() - started).toBeLessThan(10_000);
    await eventually("the gateway to see the abort", async () =>
      stubs.get("slow-0")!.aborted.includes(`clawcrew:${d.metadata.uid}`) ? true : undefined,
    );
  });

  it("rejects a Delegation the topology does not allow, once, without delivering it", async () => {
    const created = await createDelegation({ team: "company", from: "researcher", to: "writer", task: "nope" });
    const d = await waitTerminal(created.metadata.name!);
    expect(d.status).toMatchObject({ phase: "Failed", reason: "Rejected" });
    await expectVerdicts(d, "Failed", "Degraded");
    expect(d.status!.message).toContain("researcher");
    const user = `clawcrew:${d.metadata.uid}`;
    expect([...stubs.values()].some((s) => s.requests.some((r) => r.user === user))).toBe(false);
    const missing = await createDelegation({ to: "ghost", task: "x" });
    expect((await waitTerminal(missing.metadata.name!)).status).toMatchObject({
      phase: "Failed",
      reason: "AgentUnavailable",
    });
  });

  it("waits for a team applied after its Delegation, and rejects one whose team never appears", async () => {
    // As `kubectl apply -f dir` or GitOps may order them: the Delegation first, its team a moment later.
    const early = await createDelegation({ team: "late", to: "researcher", task: "find Y" });
    const never = await createDelegation({ team: "never", to: "researcher", task: "find Z" });
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await getDelegation(early.metadata.name!)).status?.phase).toBeUndefined();
    await post(GVR.teams, {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "AgentTeam",
      metadata: { name: "late" },
      spec: { pattern: "hubAndSpoke", lead: "ceo", members: [{ agent: "researcher" }] },
    });
    const d = await waitTerminal(early.metadata.name!);
    expect(d.status).toMatchObject({ phase: "Succeeded", agent: "researcher", result: "ok:find Y" });
    const rejected = await waitTerminal(never.metadata.name!, 90_000);
    expect(rejected.status).toMatchObject({
      phase: "Failed",
      reason: "Rejected",
      message: "AgentTeam never not found",
    });
    const waited =
      Date.parse(rejected.status!.completionTime!) -
      Date.parse(rejected.metadata.creationTimestamp as unknown as string);
    expect(waited).toBeGreaterThanOrEqual(29_000);
  });

  it("cancels on delete (the request is aborted) and on the annotation (Failed/Cancelled)", async () => {
    const doomed = await createDelegation({ to: "slow", task: "delete me" });
    const user = `clawcrew:${doomed.metadata.uid}`;
    await eventually("the delete-me request", async () =>
      stubs.get("slow-0")!.requests.some((r) => r.user === user) ? true : undefined,
    );
    await client.request("DELETE", resourcePath(GVR.delegations, { namespace: ns, name: doomed.metadata.name! }));
    await eventually("the gateway to see the abort", async () =>
      stubs.get("slow-0")!.aborted.includes(user) ? true : undefined,
    );

    const kept = await createDelegation({ to: "slow", task: "cancel me" });
    const running = await eventually("Running", async () => {
      const current = await getDelegation(kept.metadata.name!);
      return current.status?.phase === "Running" ? current : undefined;
    });
    await expectVerdicts(running, "InProgress", "Progressing");
    await client.request("PATCH", resourcePath(GVR.delegations, { namespace: ns, name: kept.metadata.name! }), {
      body: { metadata: { annotations: { "clawcrew.io/cancel": "true" } } },
      contentType: "application/merge-patch+json",
    });
    const d = await waitTerminal(kept.metadata.name!);
    expect(d.status).toMatchObject({ phase: "Failed", reason: "Cancelled" });
    await expectVerdicts(d, "Failed", "Degraded");
    expect(stubs.get("slow-0")!.aborted).toContain(`clawcrew:${d.metadata.uid}`);
  });

  it("cancels the sub-tasks of a Delegation that ended, and bounds them by its deadline", async () => {
    // Another agent than the parent's: the same one would be a loop, which admission refuses.
    await createAgent("helper", 1, {}, { delayMs: 30_000 });
    const parent = await createDelegation({ to: "slow", task: "the whole job" });
    const child = await createDelegation({ to: "helper", task: "a part of it", parent: parent.metadata.name });
    const childUser = () => `clawcrew:${child.metadata.uid}`;
    await eventually("the sub-task's request", async () =>
      stubs.get("helper-0")!.requests.some((r) => r.user === childUser()) ? true : undefined,
    );
    await client.request("PATCH", resourcePath(GVR.delegations, { namespace: ns, name: parent.metadata.name! }), {
      body: { metadata: { annotations: { "clawcrew.io/cancel": "true" } } },
      contentType: "application/merge-patch+json",
    });
    const orphan = await waitTerminal(child.metadata.name!);
    expect(orphan.status).toMatchObject({ phase: "Failed", reason: "Cancelled" });
    expect(orphan.status!.message).toBe(`cancelled: its parent Delegation ${parent.metadata.name} finished (Failed)`);
    expect(stubs.get("helper-0")!.aborted).toContain(childUser());

    // A sub-task asking for 600 s gets what its parent has left: it ends at the parent's deadline.
    const short = await createDelegation({ to: "slow", task: "quick job", timeoutSeconds: 3 });
    // The parent runs first, so that the sub-task is bounded by a deadline already ticking.
    await eventually("the parent's request", async () =>
      stubs.get("slow-0")!.requests.some((r) => r.user === `clawcrew:${short.metadata.uid}`) ? true : undefined,
    );
    const long = await createDelegation({
      to: "helper",
      task: "long part",
      timeoutSeconds: 600,
      parent: short.metadata.name,
    });
    const bounded = await waitTerminal(long.metadata.name!, 30_000);
    expect(bounded.status).toMatchObject({ phase: "Failed", reason: "TimedOut" });
    expect(bounded.status!.message).toContain(`(the deadline of its parent Delegation ${short.metadata.name})`);
    const started = Date.parse(long.metadata.creationTimestamp as unknown as string);
    expect(Date.parse(bounded.status!.completionTime!) - started).toBeLessThan(10_000);
  });

  it("deletes a finished Delegation after its TTL", async () => {
    const created = await createDelegation({ to: "researcher", task: "short-lived", ttlSecondsAfterFinished: 1 });
    // completionTime has second precision, so the TTL may delete it before a poll sees it finished:
    // the counter's watch sees every transition.
    await eventually("the Delegation to finish", async () =>
      counter.counts.get(created.metadata.uid!) === 1 ? true : undefined,
    );
    await eventually(
      "the finished Delegation to be deleted",
      async () => {
        try {
          await getDelegation(created.metadata.name!);
          return undefined;
        } catch (error) {
          if (isNotFound(error)) return true;
          throw error;
        }
      },
      { timeoutMs: 15_000 },
    );
  });

  it("runs a two-stage pipeline, feeding each stage's result to the next", async () => {
    const created = await createDelegation({ team: "draft", task: "topic" });
    const d = await waitTerminal(created.metadata.name!);
    expect(d.status).toMatchObject({ phase: "Succeeded", result: "written(ok:topic)", usage: { totalTokens: 6 } });
    expect(d.status!.stages).toEqual([
      { index: 0, agent: "researcher", phase: "Succeeded", delegation: `${d.metadata.name}-s0` },
      { index: 1, agent: "writer", phase: "Succeeded", delegation: `${d.metadata.name}-s1` },
    ]);
    const child = await getDelegation(`${d.metadata.name}-s1`);
    expect(child.spec).toMatchObject({ from: "researcher", to: "writer", task: "ok:topic", parent: d.metadata.name });
    expect((child.metadata as Obj).ownerReferences[0]).toMatchObject({ kind: "Delegation", uid: d.metadata.uid });
  });

  it("keeps a finished task while its terminal write is refused, and writes it once when it can: run once", async () => {
    // A ValidatingAdmissionPolicy refuses Succeeded status writes of labelled Delegations: the API
    // server fails the terminal write for as long as the label stays.
    const hold = "test.clawcrew.io/hold-terminal";
    const policy = uniqueName("hold-terminal");
    const admission = { group: "admissionregistration.k8s.io", version: "v1" };
    await client.request("POST", resourcePath({ ...admission, plural: "validatingadmissionpolicies" }), {
      body: {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: policy },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ["clawcrew.io"],
                apiVersions: ["v1alpha1"],
                operations: ["UPDATE"],
                resources: ["delegations/status"],
              },
            ],
          },
          validations: [
            {
              expression: `!has(object.metadata.labels) || !('${hold}' in object.metadata.labels) || !has(object.status) || !has(object.status.phase) || object.status.phase != 'Succeeded'`,
              message: "held by the test",
            },
          ],
        },
      },
    });
    await client.request("POST", resourcePath({ ...admission, plural: "validatingadmissionpolicybindings" }), {
      body: {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: policy },
        spec: { policyName: policy, validationActions: ["Deny"] },
      },
    });
    try {
      // The policy takes effect within a few seconds: probe it on a Delegation no controller watches.
      const probeNs = `${ns}-probe`;
      await kubectlOk(kubeconfig, ["create", "namespace", probeNs]);
      await client.request("POST", resourcePath(GVR.delegations, { namespace: probeNs }), {
        body: {
          apiVersion: "clawcrew.io/v1alpha1",
          kind: "Delegation",
          metadata: { name: "probe", labels: { [hold]: "true" } },
          spec: { to: "nobody", task: "probe" },
        },
      });
      await eventually("the policy to refuse a held Succeeded write", async () => {
        const refused = await client
          .request(
            "PATCH",
            resourcePath(GVR.delegations, { namespace: probeNs, name: "probe", subresource: "status" }),
            {
              body: { status: { phase: "Succeeded" } },
              contentType: "application/merge-patch+json",
            },
          )
          .then(
            () => false,
            () => true,
          );
        if (!refused) {
          await client.request(
            "PATCH",
            resourcePath(GVR.delegations, { namespace: probeNs, name: "probe", subresource: "status" }),
            {
              body: { status: null },
              contentType: "application/merge-patch+json",
            },
          );
        }
        return refused || undefined;
      });
      await kubectlOk(kubeconfig, ["delete", "namespace", probeNs, "--wait=false"]);

      const created = await createDelegation({ to: "writer", task: "held answer" }, { labels: { [hold]: "true" } });
      const name = created.metadata.name!;
      const writer = stubs.get("writer-0")!;
      const runs = () => writer.requests.filter((r) => r.task.includes("held answer")).length;
      await eventually("the gateway to answer", async () => (runs() > 0 ? true : undefined));
      // Longer than the four retries (7.5 s) that ended in forgetting the task and running it again.
      await new Promise((r) => setTimeout(r, 12_000));
      const held = await getDelegation(name);
      // Not finished (the answer came before any Running write was sent, so there may be none).
      expect(isTerminal(held)).toBe(false);
      expect(runs()).toBe(1);

      await client.request("PATCH", resourcePath(GVR.delegations, { namespace: ns, name }), {
        body: { metadata: { labels: { [hold]: null } } },
        contentType: "application/merge-patch+json",
      });
      const d = await waitTerminal(name, 60_000);
      expect(d.status).toMatchObject({ phase: "Succeeded", result: "written(held answer)" });
      expect(d.status?.attempts).toHaveLength(1);
      expect(runs()).toBe(1);
    } finally {
      await client.request(
        "DELETE",
        resourcePath({ ...admission, plural: "validatingadmissionpolicybindings" }, { name: policy }),
      );
      await client.request(
        "DELETE",
        resourcePath({ ...admission, plural: "validatingadmissionpolicies" }, { name: policy }),
      );
    }
  });

  it("survives a restart mid-flight: Running ones are re-dispatched and each finishes exactly once", async () => {
    const names: string[] = [];
    for (let i = 0; i < 20; i++) {
      names.push((await createDelegation({ to: "steady", task: `job ${i}` }, { name: `restart-${i}` })).metadata.name!);
    }
    // 2 pods × 4 slots: 8 run (and get their Running write), 12 wait.
    await eventually(
      "some Running",
      async () => {
        const list = await client.get<{ items: Delegation[] }>(resourcePath(GVR.delegations, { namespace: ns }));
        const running = list.items.filter((d) => names.includes(d.metadata.name!) && d.status?.phase === "Running");
        return running.length >= 4 ? true : undefined;
      },
      { intervalMs: 50 },
    );
    await stopInstance(instance!);
    instance = undefined;
    // stop() aborted the requests in flight: the gateways see their clients go away.
    await eventually("the gateways to see the aborts", async () =>
      stubs.get("steady-0")!.aborted.length + stubs.get("steady-1")!.aborted.length > 0 ? true : undefined,
    );

    instance = await startInstance();
    const done = await Promise.all(names.map((n) => waitTerminal(n, 90_000)));
    for (const d of done.filter((x) => x.status?.phase !== "Succeeded")) {
      console.log(d.metadata.name, JSON.stringify(d.status));
    }
    expect(done.map((d) => d.status?.phase)).toEqual(names.map(() => "Succeeded"));
    const interrupted = done.filter((d) => d.status!.attempts!.some((a) => a.reason === "Interrupted"));
    expect(interrupted.length).toBeGreaterThan(0);
    for (const d of interrupted) {
      expect(d.status!.attempts!.at(-1)).toMatchObject({ outcome: "Succeeded" });
    }
    await eventually("the watch to see every terminal write", async () =>
      done.every((d) => counter.counts.get(d.metadata.uid!) !== undefined) ? true : undefined,
    );
    // Give a duplicate terminal write time to show up, then require exactly one per uid.
    await new Promise((r) => setTimeout(r, 1000));
    expect(done.map((d) => counter.counts.get(d.metadata.uid!))).toEqual(names.map(() => 1));
  });
});
