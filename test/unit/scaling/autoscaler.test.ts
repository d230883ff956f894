import type { KubernetesObject } from "@kubernetes/client-node";
import pino from "pino";
import { expect, it } from "vitest";
import type { PodEndpoint } from "../../../src/delegation/pod-endpoints.ts";
import type { EventRecorder } from "../../../src/runtime/events.ts";
import { IndexedStore, objectKey } from "../../../src/runtime/store.ts";
import { Autoscaler } from "../../../src/scaling/autoscaler.ts";

function agent(name: string, replicas: number, mode: "Operator" | "External", rv = "1"): KubernetesObject {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name, namespace: "ns", uid: name, resourceVersion: rv },
    spec: {
      soul: "s",
      model: { primary: "a/b" },
      replicas,
      maxConcurrentTasks: 1,
      timeoutSeconds: 60,
      scaling: { minReplicas: 1, maxReplicas: 5, targetPendingPerReplica: 1, scaleDownDelaySeconds: 60, mode },
    },
  } as KubernetesObject;
}

/** The autoscaler's inputs, driven by hand: no timer or period drives it, only these changes. */
function fixture() {
  const store = new IndexedStore<KubernetesObject>();
  const agentListeners: ((obj: KubernetesObject) => void)[] = [];
  const loadListeners: ((ns: string, agent: string) => void)[] = [];
  const load = { queued: 0, inFlight: 0 };
  const podLoads = new Map<string, number>();
  const drained: string[][] = [];
  const requests: { verb: string; path: string; body: unknown }[] = [];
  const events: string[] = [];
  let now = 0;
  const endpoints: PodEndpoint[] = [];
  const scaler = new Autoscaler({
    client: {
      request: async (verb: string, path: string, o: { body?: unknown } = {}) => {
        requests.push({ verb, path, body: o.body });
        return {};
      },
    } as never,
    agents: {
      get: (key: string) => store.get(key),
      on: (_event: string, handler: (a: KubernetesObject, b?: KubernetesObject) => void) => {
        agentListeners.push((obj) => handler(obj, obj));
        return () => {};
      },
      addIndexer: (name: string, fn: never) => store.addIndexer(name, fn),
      byIndex: (name: string, value: string) => store.byIndex(name, value),
    } as never,
    dispatcher: {
      load: () => ({ ...load, readyPods: 0, capacity: 0 }),
      podLoads: () => new Map(podLoads),
      onLoadChange: (cb: (ns: string, agent: string) => void) => {
        loadListeners.push(cb);
        return () => {};
      },
    },
    endpoints: {
      endpoints: () => endpoints,
      drain: (_ns: string, _agent: string, pods: Iterable<string>) => {
        drained.push([...pods]);
      },
      undrain: () => {},
      onChange: () => () => {},
    },
    isLead: () => false,
    events: {
      event: (_o: unknown, _t: string, reason: string, note: string) => events.push(`${reason}: ${note}`),
    } as unknown as EventRecorder,
    logger: pino({ level: "silent" }),
    now: () => now,
  });
  const put = (obj: KubernetesObject) => {
    store.set(objectKey(obj), obj);
    for (const l of agentListeners) l(obj);
  };
  const loadChanged = () => {
    for (const l of loadListeners) l("ns", "swarm");
  };
  return {
    scaler,
    put,
    load,
    podLoads,
    endpoints,
    drained,
    requests,
    events,
    loadChanged,
    at: (ms: number) => {
      now = ms;
    },
  };
}

const scaleWrites = (r: { path: string; body: unknown }[]) => r.filter((w) => w.path.endsWith("/scale"));

it("scales up on a load change, with an Event and status.scaling, and down only after the delay, idle pods first", async () => {
  const f = fixture();
  f.put(agent("swarm", 1, "Operator"));
  f.scaler.start();
  await f.scaler.settled();
  expect(scaleWrites(f.requests)).toEqual([]);

  f.load.queued = 6;
  f.load.inFlight = 1;
  f.loadChanged();
  await f.scaler.settled();
  expect(scaleWrites(f.requests).map((w) => w.body)).toEqual([{ spec: { replicas: 4 } }]);
  expect(f.events).toEqual([
    "Scaled: Scaled from 1 to 4 replicas: queued 6, in flight 1, maxConcurrentTasks 1, targetPendingPerReplica 1 give desired 4 (min 1, max 5)",
  ]);
  const status = f.requests.filter((w) => w.path.endsWith("/status")).at(-1)!.body as {
    status: { scaling: Record<string, unknown> };
  };
  expect(status.status.scaling).toMatchObject({ desiredReplicas: 4, queued: 6, inFlight: 1 });
  expect(status.status.scaling.lastScaleTime).toBeDefined();

  // The write landed; the work is done except one delegation on pod p2.
  f.put(agent("swarm", 4, "Operator", "2"));
  f.endpoints.push(
    ...["p1", "p2", "p3", "p4"].map((pod) => ({
      pod,
      uid: `u-${pod}`,
      ip: "10.0.0.1",
      port: 1,
      ready: true,
      serving: true,
      terminating: false,
    })),
  );
  for (const pod of ["p1", "p2", "p3", "p4"]) f.podLoads.set(pod, pod === "p2" ? 1 : 0);
  f.load.queued = 0;
  f.load.inFlight = 1;
  f.requests.length = 0;
  f.at(30_000);
  f.loadChanged();
  await f.scaler.settled();
  expect(scaleWrites(f.requests)).toEqual([]);

  f.at(89_000);
  f.loadChanged();
  await f.scaler.settled();
  expect(scaleWrites(f.requests)).toEqual([]);

  // 60 s after the demand fell.
  f.at(90_000);
  f.loadChanged();
  await f.scaler.settled();
  expect(f.drained).toEqual([["p1", "p3", "p4"]]);
  const costs = f.requests
    .filter((w) => w.path.includes("/pods/"))
    .map((w) => [
      w.path.split("/").at(-1),
      (w.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations,
    ]);
  expect(Object.fromEntries(costs)).toEqual({
    p1: { "controller.kubernetes.io/pod-deletion-cost": "0" },
    p2: { "controller.kubernetes.io/pod-deletion-cost": "2" },
    p3: { "controller.kubernetes.io/pod-deletion-cost": "0" },
    p4: { "controller.kubernetes.io/pod-deletion-cost": "0" },
  });
  expect(scaleWrites(f.requests).map((w) => w.body)).toEqual([{ spec: { replicas: 1 } }]);
  // The costs are written before the replicas.
  expect(f.requests.findIndex((w) => w.path.endsWith("/scale"))).toBeGreaterThan(
    f.requests.findLastIndex((w) => w.path.includes("/pods/")),
  );
  await f.scaler.stop();
});

it("never writes replicas in mode External, and still reports", async () => {
  const f = fixture();
  f.put(agent("swarm", 1, "External"));
  f.scaler.start();
  f.load.queued = 9;
  f.loadChanged();
  await f.scaler.settled();
  expect(scaleWrites(f.requests)).toEqual([]);
  const status = f.requests.filter((w) => w.path.endsWith("/status")).at(-1)!.body as {
    status: { scaling: Record<string, unknown> };
  };
  expect(status.status.scaling).toEqual({ desiredReplicas: 5, queued: 9, inFlight: 0 });
  await f.scaler.stop();
});
