import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { EndpointTracker, SERVICE_NAME_LABEL } from "../../../src/delegation/pod-endpoints.ts";
import type { Informer, InformerEvents } from "../../../src/runtime/informer.ts";

type Events = InformerEvents<KubernetesObject>;

/** The informer surface EndpointTracker uses: handlers a test fires. */
class SliceBus {
  readonly handlers: { [E in keyof Events]: Events[E][] } = { add: [], update: [], delete: [] };
  on<E extends keyof Events>(event: E, handler: Events[E]) {
    this.handlers[event].push(handler);
    return () => undefined;
  }
  add(slice: KubernetesObject) {
    for (const h of this.handlers.add) h(slice);
  }
  update(before: KubernetesObject, after: KubernetesObject) {
    for (const h of this.handlers.update) h(before, after);
  }
  delete(slice: KubernetesObject) {
    for (const h of this.handlers.delete) h(slice);
  }
  asInformer() {
    return this as unknown as Informer<KubernetesObject>;
  }
}

function slice(
  name: string,
  agent: string,
  pods: { pod: string; ip: string; ready?: boolean; terminating?: boolean }[],
) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace: "ns", name, labels: { [SERVICE_NAME_LABEL]: agent } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 18789 }],
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: p.ready ?? true, terminating: p.terminating ?? false },
      targetRef: { kind: "Pod", name: p.pod },
    })),
  } as KubernetesObject;
}

describe("EndpointTracker", () => {
  it("merges an agent's slices by pod, sorted, and follows every slice change", () => {
    const bus = new SliceBus();
    const tracker = new EndpointTracker({ slices: bus.asInformer() });
    const a = slice("w-a", "w", [
      { pod: "w-2", ip: "10.0.0.2" },
      { pod: "w-1", ip: "10.0.0.1", ready: false },
    ]);
    bus.add(a);
    expect(tracker.endpoints("ns", "w").map((e) => e.pod)).toEqual(["w-1", "w-2"]);
    expect(tracker.readyPods("ns", "w").map((e) => e.pod)).toEqual(["w-2"]);
    expect(tracker.readyPods("ns", "w")).toBe(tracker.readyPods("ns", "w")); // built once per change

    // w-1 turns ready in a second slice: the ready copy wins.
    bus.add(slice("w-b", "w", [{ pod: "w-1", ip: "10.0.0.1" }]));
    expect(tracker.readyPods("ns", "w").map((e) => e.pod)).toEqual(["w-1", "w-2"]);

    const terminating = slice("w-a", "w", [{ pod: "w-2", ip: "10.0.0.2", terminating: true }]);
    bus.update(a, terminating);
    expect(tracker.readyPods("ns", "w").map((e) => e.pod)).toEqual(["w-1"]);

    bus.delete(terminating);
    bus.delete(slice("w-b", "w", []));
    expect(tracker.endpoints("ns", "w")).toEqual([]);
    expect(tracker.readyPods("ns", "other")).toEqual([]);
  });

  it("routes no new work to drained pods, and forgets them once they left the slices", () => {
    const bus = new SliceBus();
    const tracker = new EndpointTracker({ slices: bus.asInformer() });
    const changes: string[] = [];
    tracker.onChange((_ns, agent) => changes.push(agent));
    const both = slice("w-a", "w", [
      { pod: "w-1", ip: "10.0.0.1" },
      { pod: "w-2", ip: "10.0.0.2" },
    ]);
    bus.add(both);
    tracker.drain("ns", "w", ["w-2"]);
    expect(tracker.readyPods("ns", "w").map((e) => e.pod)).toEqual(["w-1"]);
    expect(tracker.endpoints("ns", "w").map((e) => e.pod)).toEqual(["w-1", "w-2"]);
    expect(changes).toEqual(["w", "w"]);
    tracker.undrain("ns", "w");
    expect(tracker.readyPods("ns", "w").map((e) => e.pod)).toEqual(["w-1", "w-2"]);

    tracker.drain("ns", "w", ["w-2"]);
    const gone = slice("w-a", "w", [{ pod: "w-1", ip: "10.0.0.1" }]);
    bus.update(both, gone);
    tracker.readyPods("ns", "w");
    expect([...tracker.draining("ns", "w")]).toEqual([]);
    // A new pod of the same name later is routable.
    bus.update(gone, both);
    expect(tracker.readyPods("ns", "w").map((e) => e.pod)).toEqual(["w-1", "w-2"]);
  });
});
