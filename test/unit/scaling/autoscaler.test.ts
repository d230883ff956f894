import type { KubernetesObject } from "@kubernetes/client-node";
import pino from "pino";
import { expect, it } from "vitest";
import type { KubeClient } from "../../../src/runtime/client.ts";
import type { EventRecorder } from "../../../src/runtime/events.ts";
import { IndexedStore, objectKey } from "../../../src/runtime/store.ts";
import { Autoscaler } from "../../../src/scaling/autoscaler.ts";

function agent(name: string, replicas: number, mode: "Operator" | "External"): KubernetesObject {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name, namespace: "ns", uid: name },
    spec: {
      soul: "s",
      model: { primary: "a/b" },
      replicas,
      maxConcurrentTasks: 1,
      scaling: { minReplicas: 1, maxReplicas: 5, targetPendingPerReplica: 1, scaleDownDelaySeconds: 60, mode },
    },
  } as KubernetesObject;
}

it("scales Operator-mode swarms through the scale subresource and leaves External ones alone", async () => {
  const agents = new IndexedStore<KubernetesObject>();
  for (const obj of [agent("swarm", 1, "Operator"), agent("keda", 1, "External")]) agents.set(objectKey(obj), obj);
  const writes: { verb: string; path: string; body: unknown }[] = [];
  const events: string[] = [];
  let now = 0;
  const scaler = new Autoscaler({
    client: {
      request: async (verb: string, path: string, o: { body: unknown }) => writes.push({ verb, path, body: o.body }),
    } as unknown as KubeClient,
    agents,
    dispatcher: { load: () => ({ queued: 6, inFlight: 1, readyPods: 1, capacity: 1 }) },
    events: { event: (_o: unknown, _t: string, reason: string) => events.push(reason) } as unknown as EventRecorder,
    logger: pino({ level: "silent" }),
    now: () => now,
  });

  await scaler.tick();
  expect(writes).toEqual([
    {
      verb: "PATCH",
      path: "/apis/clawcrew.io/v1alpha1/namespaces/ns/agents/swarm/scale",
      body: { spec: { replicas: 4 } },
    },
  ]);
  expect(events).toEqual(["Scaled"]);

  // The write landed; the load is gone, but the scale-down delay has not passed.
  agents.set("ns/swarm", agent("swarm", 4, "Operator")); // an informer delivers a new object on update
  const idle = new Autoscaler({
    client: {
      request: async (verb: string, path: string, o: { body: unknown }) => writes.push({ verb, path, body: o.body }),
    } as unknown as KubeClient,
    agents,
    dispatcher: { load: () => ({ queued: 0, inFlight: 0, readyPods: 4, capacity: 4 }) },
    events: { event: () => {} } as unknown as EventRecorder,
    logger: pino({ level: "silent" }),
    now: () => now,
  });
  writes.length = 0;
  await idle.tick();
  now = 30_000;
  await idle.tick();
  expect(writes).toEqual([]);
  now = 61_000;
  await idle.tick();
  expect(writes).toEqual([
    {
      verb: "PATCH",
      path: "/apis/clawcrew.io/v1alpha1/namespaces/ns/agents/swarm/scale",
      body: { spec: { replicas: 1 } },
    },
  ]);
});
