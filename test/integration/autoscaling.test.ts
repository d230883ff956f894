/**
 * The swarm autoscaler in the operator (in-process) against the real API server: the Agent
 * controller renders Deployments, kube-controller-manager's ReplicaSets create and delete the pods
 * (kwok runs them, ready at once, and deletes them on their deletionTimestamp) and publishes their
 * EndpointSlices; the dispatcher sends delegations to a stub gateway on 127.0.0.1, reached through
 * the EndpointTracker's `resolve` override (kwok pod IPs are never dialled).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { eventually, installCrds, kubectl, kubectlIn, kubectlOk, type Obj, uniqueName } from "../../harness/index.ts";
import { testLogger } from "../../harness/vitest.ts";
import type { Delegation } from "../../src/api/delegation.ts";
import { isTerminal } from "../../src/delegation/delegation-object.ts";
import { Operator } from "../../src/operator/operator.ts";
import { KubeClient } from "../../src/runtime/client.ts";
import { EventRecorder } from "../../src/runtime/events.ts";
import { noopControllerMetrics } from "../../src/runtime/metrics.ts";
import { resourcePath } from "../../src/runtime/resource.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("autoscale");
const client = KubeClient.load({ kubeconfig });
const { k, getJson } = kubectlIn(kubeconfig, ns);
const AGENTS = { group: "clawcrew.io", version: "v1alpha1", plural: "agents" };
const DELEGATIONS = { group: "clawcrew.io", version: "v1alpha1", plural: "delegations" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ the stub gateway

/** Tasks containing `hold:<key>` are answered only when the key is released; others after 50 ms. */
const held = new Map<string, (() => void)[]>();
const releasedKeys = new Set<string>();
/** Answers sent, by the request's `user` (one per Delegation attempt's caller). */
const answered = new Map<string, number>();
let stub: Server;
let stubPort = 0;

function release(key: string): void {
  releasedKeys.add(key);
  for (const answer of held.get(key) ?? []) answer();
  held.delete(key);
}

async function startStub(): Promise<void> {
  stub = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Obj;
      const task = String(body.messages.at(-1).content);
      const user = String(body.user);
      const answer = () => {
        if (res.destroyed) return;
        answered.set(task, (answered.get(task) ?? 0) + 1);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ message: { role: "assistant", content: `ok ${user}` } }] }));
      };
      const key = /hold:(\S+)/.exec(task)?.[1];
      if (key && !releasedKeys.has(key)) held.set(key, [...(held.get(key) ?? []), answer]);
      else setTimeout(answer, 50);
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  stubPort = (stub.address() as AddressInfo).port;
}

// ------------------------------------------------------------------ the operator, in-process

/** One operator replica: caches at once, controllers (and the autoscaler) when it "leads". */
function operator(identity: string): Operator {
  const op = new Operator({
    client,
    events: new EventRecorder({ client, reportingInstance: identity, logger: testLogger }),
    metrics: noopControllerMetrics,
    logger: testLogger,
    namespaces: [ns],
    concurrency: 4,
    delegationEndpointUrl: "http://127.0.0.1:1/mcp",
    operatorNamespace: ns,
    operatorPodLabels: { app: "clawcrew-operator" },
    delegationPort: 1,
    resolve: () => ({ host: "127.0.0.1", port: stubPort }),
  });
  op.startCaches();
  return op;
}

let leader: Operator | undefined;
let standby: Operator | undefined;

async function lead(op: Operator): Promise<void> {
  await eventually("caches synced", async () => (op.synced() ? true : undefined));
  await op.startControllers();
}

// ------------------------------------------------------------------ objects

async function createAgent(name: string, spec: Obj): Promise<void> {
  await client.request("POST", resourcePath(AGENTS, { namespace: ns }), {
    body: {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Agent",
      metadata: { name },
      spec: { soul: `# ${name}`, model: { primary: "openai/gpt-5" }, maxConcurrentTasks: 1, ...spec },
    },
  });
}

const getAgent = (name: string) => client.get<Obj>(resourcePath(AGENTS, { namespace: ns, name }));
const getDelegation = (name: string) => client.get<Delegation>(resourcePath(DELEGATIONS, { namespace: ns, name }));

async function delegate(agent: string, name: string, task: string): Promise<void> {
  await client.request("POST", resourcePath(DELEGATIONS, { namespace: ns }), {
    body: { apiVersion: "clawcrew.io/v1alpha1", kind: "Delegation", metadata: { name }, spec: { to: agent, task } },
  });
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

const replicasOf = async (name: string) => {
  const [agent, deploy] = await Promise.all([getAgent(name), getJson(`deployment/${name}`)]);
  return { agent: agent.spec.replicas as number, deployment: deploy?.spec?.replicas as number | undefined };
};

const waitReplicas = (name: string, n: number, timeoutMs = 60_000) =>
  eventually(
    `${name} at ${n} replicas (Agent and Deployment)`,
    async () => {
      const r = await replicasOf(name);
      return r.agent === n && r.deployment === n ? r : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );

/** The agent's pods that are not being deleted, by name, with their deletion cost. */
async function livePods(agent: string): Promise<Obj[]> {
  const list = JSON.parse(await k("get", "pods", "-l", `clawcrew.io/agent=${agent}`, "-o", "json")) as { items: Obj[] };
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

async function scaledEvents(agent: string): Promise<string[]> {
  const out = JSON.parse(await k("get", "events.events.k8s.io", "-o", "json")) as { items: Obj[] };
  return out.items
    .filter((e) => e.regarding?.name === agent && e.regarding?.kind === "Agent" && e.reason === "Scaled")
    .map((e) => e.note as string);
}

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  await startStub();
  leader = operator(`${ns}-a`);
  standby = operator(`${ns}-b`);
  await lead(leader);
}, 120_000);

afterAll(async () => {
  for (const key of [...held.keys()]) release(key);
  await leader?.stop();
  await standby?.stop();
  stub?.close();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("swarm autoscaling", () => {
  it("raises replicas on a burst to the formula bounded by max, and back to min only after the delay", async () => {
    await createAgent("burst", {
      replicas: 1,
      scaling: { minReplicas: 1, maxReplicas: 4, targetPendingPerReplica: 1, scaleDownDelaySeconds: 3 },
    });
    await waitReplicas("burst", 1);
    // 6 delegations, 1 slot + 1 pending per replica: ceil(6 / 2) = 3.
    for (let i = 0; i < 6; i++) await delegate("burst", `burst-${i}`, `hold:burst-${i}`);
    await waitReplicas("burst", 3);
    // 4 more: ceil(10 / 2) = 5, bounded by maxReplicas 4.
    for (let i = 6; i < 10; i++) await delegate("burst", `burst-${i}`, `hold:burst-${i}`);
    await waitReplicas("burst", 4);
    const status = await eventually("status.scaling with the burst", async () => {
      const s = (await getAgent("burst")).status?.scaling;
      return s?.queued + s?.inFlight === 10 && s.desiredReplicas === 4 ? s : undefined;
    });
    expect(status.lastScaleTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    const notes = await scaledEvents("burst");
    expect(notes.some((n) => /^Scaled from 3 to 4 replicas: queued \d+, in flight \d+, .*give desired 4/.test(n))).toBe(
      true,
    );

    for (let i = 0; i < 10; i++) release(`burst-${i}`);
    const done = await Promise.all(Array.from({ length: 10 }, (_, i) => waitTerminal(`burst-${i}`)));
    expect(done.map((d) => d.status?.phase)).toEqual(Array(10).fill("Succeeded"));
    const lastFinished = Math.max(...done.map((d) => Date.parse(d.status!.completionTime!)));
    await waitReplicas("burst", 1, 30_000);
    const scaledDown = Date.parse((await getAgent("burst")).status.scaling.lastScaleTime);
    // Metav1 times have whole seconds: the delay (3 s) had passed, give or take that second.
    expect(scaledDown - lastFinished).toBeGreaterThanOrEqual(2000);
  });

  it("scales from 0 to 1 on the first delegation, which succeeds, and fails fast at 0 without scaling", async () => {
    await createAgent("cold", {
      replicas: 0,
      scaling: { minReplicas: 0, maxReplicas: 2, scaleDownDelaySeconds: 2 },
    });
    await createAgent("off", { replicas: 0 });
    await delegate("cold", "cold-1", "first task");
    await delegate("off", "off-1", "nobody home");
    const off = await waitTerminal("off-1");
    expect(off.status).toMatchObject({ phase: "Failed", reason: "AgentUnavailable" });
    expect(off.status?.message).toContain("spec.replicas 0 and no spec.scaling");
    const cold = await waitTerminal("cold-1");
    expect(cold.status?.phase).toBe("Succeeded");
    expect(cold.status?.attempts).toHaveLength(1);
    expect(answered.get("first task")).toBe(1);
    // And back to zero once idle.
    await waitReplicas("cold", 0, 30_000);
  });

  it("removes idle pods on scale-down; the busy one survives and its delegation finishes exactly once", async () => {
    await createAgent("keep", {
      replicas: 1,
      scaling: { minReplicas: 1, maxReplicas: 3, targetPendingPerReplica: 1, scaleDownDelaySeconds: 2 },
    });
    await waitReplicas("keep", 1);
    for (let i = 0; i < 6; i++) await delegate("keep", `keep-${i}`, `hold:keep-${i}`);
    await waitReplicas("keep", 3);
    // Each of the 3 pods runs one; keep the one on the youngest pod, which a ReplicaSet removes first by default.
    const running = await eventually("3 delegations running on 3 pods", async () => {
      const ds = await Promise.all(Array.from({ length: 6 }, (_, i) => getDelegation(`keep-${i}`)));
      const on = ds.filter((d) => d.status?.phase === "Running");
      return new Set(on.map((d) => d.status?.attempts?.at(-1)?.pod)).size === 3 ? on : undefined;
    });
    const pods = await livePods("keep");
    // Newest first, by creationTimestamp then name (RFC 3339 strings sort as times).
    const key = (p: Obj) => `${p.metadata.creationTimestamp} ${p.metadata.name}`;
    const youngest = pods.sort((a, b) => key(b).localeCompare(key(a)))[0]!.metadata.name as string;
    const kept = running.find((d) => d.status?.attempts?.at(-1)?.pod === youngest)!;
    const keptTask = kept.spec.task;
    for (let i = 0; i < 6; i++) if (`keep-${i}` !== kept.metadata.name) release(`keep-${i}`);
    for (let i = 0; i < 6; i++) if (`keep-${i}` !== kept.metadata.name) await waitTerminal(`keep-${i}`);

    await waitReplicas("keep", 1, 30_000);
    const left = await eventually("one pod left", async () => {
      const live = await livePods("keep");
      return live.length === 1 ? live : undefined;
    });
    expect(left[0]!.metadata.name).toBe(youngest);
    expect(left[0]!.metadata.annotations?.["controller.kubernetes.io/pod-deletion-cost"]).toBe("2");

    release(kept.metadata.name!);
    const finished = await waitTerminal(kept.metadata.name!);
    expect(finished.status?.phase).toBe("Succeeded");
    expect(finished.status?.attempts?.map((a) => a.pod)).toEqual([youngest]);
    expect(answered.get(keptTask)).toBe(1);
  });

  it("never writes replicas in mode External; kubectl scale works and stays", async () => {
    await createAgent("ext", {
      replicas: 1,
      scaling: { minReplicas: 1, maxReplicas: 5, targetPendingPerReplica: 1, mode: "External" },
    });
    await waitReplicas("ext", 1);
    for (let i = 0; i < 4; i++) await delegate("ext", `ext-${i}`, `hold:ext-${i}`);
    const reported = await eventually("status.scaling reports desired 2", async () => {
      const s = (await getAgent("ext")).status?.scaling;
      return s?.desiredReplicas === 2 ? s : undefined;
    });
    expect(reported.lastScaleTime).toBeUndefined();
    expect((await replicasOf("ext")).agent).toBe(1);
    await k("scale", "agent/ext", "--replicas=2");
    await waitReplicas("ext", 2);
    for (let i = 0; i < 4; i++) release(`ext-${i}`);
    for (let i = 0; i < 4; i++) expect((await waitTerminal(`ext-${i}`)).status?.phase).toBe("Succeeded");
    await sleep(1500);
    expect(await replicasOf("ext")).toEqual({ agent: 2, deployment: 2 });
    const agent = await getAgent("ext");
    const managers = (agent.metadata.managedFields as Obj[])
      .filter((m) => m.fieldsV1?.["f:spec"]?.["f:replicas"])
      .map((m) => m.manager);
    expect(managers).not.toContain("clawcrew-autoscaler");
    expect(await scaledEvents("ext")).toEqual([]);
  });

  it("keeps the swarm's size across a leader change mid-burst", async () => {
    await createAgent("lc", {
      replicas: 1,
      scaling: { minReplicas: 1, maxReplicas: 4, targetPendingPerReplica: 1, scaleDownDelaySeconds: 30 },
    });
    await waitReplicas("lc", 1);
    for (let i = 0; i < 8; i++) await delegate("lc", `lc-${i}`, `hold:lc-${i}`);
    await waitReplicas("lc", 4);
    const before = (await scaledEvents("lc")).length;

    await leader!.stop();
    leader = standby;
    standby = undefined;
    await lead(leader!);
    // The new leader has re-queued the burst: its status.scaling counts all 8 again.
    await eventually("the new leader counts the burst", async () => {
      const s = (await getAgent("lc")).status?.scaling;
      return s && s.queued + s.inFlight === 8 ? s : undefined;
    });
    await sleep(1500);
    expect(await replicasOf("lc")).toEqual({ agent: 4, deployment: 4 });
    expect((await scaledEvents("lc")).length).toBe(before);

    for (let i = 0; i < 8; i++) release(`lc-${i}`);
    const done = await Promise.all(Array.from({ length: 8 }, (_, i) => waitTerminal(`lc-${i}`)));
    expect(done.map((d) => d.status?.phase)).toEqual(Array(8).fill("Succeeded"));
    for (let i = 0; i < 8; i++) expect(answered.get(`hold:lc-${i}`)).toBe(1);
    // Idle, but within the 30 s window: still 4.
    expect((await replicasOf("lc")).agent).toBe(4);
  });

  it("reports ScalingValid=False for a manifest that sets replicas in mode Operator, and for a lead", async () => {
    const manifest = {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Agent",
      metadata: { name: "fights" },
      spec: {
        soul: "# fights",
        model: { primary: "openai/gpt-5" },
        replicas: 2,
        scaling: { minReplicas: 1, maxReplicas: 3 },
      },
    };
    await kubectlOk(kubeconfig, ["apply", "-n", ns, "-f", "-"], manifest);
    await createAgent("boss", { replicas: 1, scaling: { minReplicas: 1, maxReplicas: 3 } });
    await createAgent("helper", { replicas: 1 });
    await kubectlOk(kubeconfig, ["apply", "-n", ns, "-f", "-"], {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "AgentTeam",
      metadata: { name: "crew" },
      spec: { pattern: "hubAndSpoke", lead: "boss", members: [{ agent: "helper" }] },
    });
    const scalingValid = (name: string, reason: string) =>
      eventually(`${name} ScalingValid=False ${reason}`, async () => {
        const c = ((await getAgent(name)).status?.conditions as Obj[] | undefined)?.find(
          (x) => x.type === "ScalingValid",
        );
        return c?.status === "False" && c.reason === reason ? c : undefined;
      });
    expect((await scalingValid("fights", "ReplicasConflict")).message).toContain("kubectl apply");
    // A server-side apply (Flux, Argo CD with ServerSideApply) that owns spec.replicas is named.
    const ssa = { ...manifest, metadata: { name: "ssa-fights" } };
    await kubectlOk(kubeconfig, ["apply", "--server-side", "--field-manager=gitops-sync", "-n", ns, "-f", "-"], ssa);
    expect((await scalingValid("ssa-fights", "ReplicasConflict")).message).toContain("gitops-sync");
    expect((await scalingValid("boss", "LeadNotScalable")).message).toContain("leads a team");
    // The lead is not scaled: a delegation to it leaves spec.replicas as written.
    await delegate("boss", "boss-1", "hold:boss-1");
    await sleep(1500);
    expect((await replicasOf("boss")).agent).toBe(1);
    release("boss-1");
    await waitTerminal("boss-1");
    // Without the replicas in the manifest the condition clears.
    const { replicas: _r, ...spec } = manifest.spec;
    await kubectlOk(kubeconfig, ["apply", "-n", ns, "-f", "-"], { ...manifest, spec });
    await eventually("fights ScalingValid=True", async () => {
      const c = ((await getAgent("fights")).status?.conditions as Obj[] | undefined)?.find(
        (x) => x.type === "ScalingValid",
      );
      return c?.status === "True" ? c : undefined;
    });
  });
});
