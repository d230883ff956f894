import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it, vi } from "vitest";
import type { Delegation } from "../../../src/api/delegation.ts";
import { SUMMARY_TASK_CHARS, summarizeFinished } from "../../../src/delegation/finished-summary.ts";
import { HANDOVER_GRACE_MS, WaiterRegistry } from "../../../src/delegation/waiters.ts";
import type { Informer, InformerEvents } from "../../../src/runtime/informer.ts";

function finished(name: string, uid = `uid-${name}`): Delegation {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { name, namespace: "ns", uid, resourceVersion: "7" },
    spec: { to: "worker", task: "write it", priority: 0, context: [{ role: "user", content: "earlier" }] },
    status: {
      phase: "Succeeded",
      reason: "Completed",
      agent: "worker",
      result: `the answer of ${name}`,
      usage: { totalTokens: 12 },
      completionTime: "2030-01-01T00:00:01Z",
      attempts: [{ id: "a1", number: 1, startTime: "2030-01-01T00:00:00Z", outcome: "Succeeded" }],
      conditions: [
        {
          type: "Complete",
          status: "True",
          reason: "Completed",
          message: "ok",
          lastTransitionTime: "2030-01-01T00:00:01Z",
        },
      ],
    },
  };
}

function pending(name: string): Delegation {
  const d = finished(name);
  return { ...d, status: {} };
}

/** The informer surface WaiterRegistry.watch uses: handlers that a test fires. */
class HandlerBus {
  readonly handlers: { [E in keyof InformerEvents<KubernetesObject>]: InformerEvents<KubernetesObject>[E][] } = {
    add: [],
    update: [],
    delete: [],
  };
  on<E extends keyof InformerEvents<KubernetesObject>>(event: E, handler: InformerEvents<KubernetesObject>[E]) {
    this.handlers[event].push(handler);
    return () => undefined;
  }
  update(obj: Delegation) {
    for (const h of this.handlers.update) h(obj as unknown as KubernetesObject, obj as unknown as KubernetesObject);
  }
  asInformer() {
    return this as unknown as Informer<KubernetesObject>;
  }
}

/** A registry whose cache holds `cached` and whose API holds `api`; counts reads. */
function registry(cached: Map<string, Delegation>, api: Map<string, Delegation>, fail?: Error) {
  const reads: string[] = [];
  const bus = new HandlerBus();
  const waiters = new WaiterRegistry({
    lookup: (ns, name) => cached.get(`${ns}/${name}`),
    read: async (ns, name) => {
      reads.push(name);
      if (fail) throw fail;
      return api.get(`${ns}/${name}`);
    },
  });
  waiters.watch(bus.asInformer());
  return { waiters, reads, bus };
}

describe("summarizeFinished", () => {
  it("keeps a finished Delegation without context, result, attempts and conditions", () => {
    const summary = summarizeFinished(finished("d1") as unknown as KubernetesObject) as unknown as Delegation;
    expect(summary.spec).toEqual({ to: "worker", task: "write it", priority: 0 });
    expect(summary.status).toEqual({
      phase: "Succeeded",
      reason: "Completed",
      agent: "worker",
      usage: { totalTokens: 12 },
      completionTime: "2030-01-01T00:00:01Z",
    });
    expect(summary.metadata).toEqual(finished("d1").metadata);
  });

  it("keeps only the start of a long task", () => {
    const whole = finished("d3");
    whole.spec.task = `${"a".repeat(SUMMARY_TASK_CHARS)}${"b".repeat(60_000)}`;
    const summary = summarizeFinished(whole as unknown as KubernetesObject) as unknown as Delegation;
    expect(summary.spec.task).toBe(`${"a".repeat(SUMMARY_TASK_CHARS)}…`);
    expect(whole.spec.task).toHaveLength(SUMMARY_TASK_CHARS + 60_000); // the watched object is not changed
  });

  it("passes an unfinished Delegation through unchanged", () => {
    const d = { ...finished("d2"), status: { ...finished("d2").status, phase: "Running" as const } };
    expect(summarizeFinished(d as unknown as KubernetesObject)).toBe(d);
  });
});

describe("WaiterRegistry with a summarizing cache", () => {
  it("resolves a waiter from a cache sighting with the whole object read from the API", async () => {
    const whole = finished("d1");
    const { waiters, reads, bus } = registry(new Map(), new Map([["ns/d1", whole]]));
    const waiting = waiters.wait("ns", "d1");
    bus.update(pending("d1"));
    expect(reads).toEqual([]);
    bus.update(summarizeFinished(whole as unknown as KubernetesObject) as unknown as Delegation);
    bus.update(summarizeFinished(whole as unknown as KubernetesObject) as unknown as Delegation);
    await expect(waiting).resolves.toBe(whole);
    expect(reads).toEqual(["d1"]); // one read for two sightings
    expect(waiters.size).toBe(0);
  });

  it("takes the dispatcher's whole object without reading", async () => {
    const whole = finished("d1");
    const { waiters, reads } = registry(new Map(), new Map());
    const waiting = waiters.wait("ns", "d1");
    waiters.observe(whole);
    await expect(waiting).resolves.toBe(whole);
    expect(reads).toEqual([]);
  });

  it("reads a Delegation that had already finished when the wait began", async () => {
    const whole = finished("d1");
    const summary = summarizeFinished(whole as unknown as KubernetesObject) as unknown as Delegation;
    const { waiters, reads } = registry(new Map([["ns/d1", summary]]), new Map([["ns/d1", whole]]));
    await expect(waiters.wait("ns", "d1")).resolves.toBe(whole);
    expect(reads).toEqual(["d1"]);
  });

  it("returns the summary when the object is gone or was recreated", async () => {
    const summary = summarizeFinished(finished("d1") as unknown as KubernetesObject) as unknown as Delegation;
    const gone = registry(new Map([["ns/d1", summary]]), new Map());
    await expect(gone.waiters.wait("ns", "d1")).resolves.toBe(summary);
    const recreated = registry(new Map([["ns/d1", summary]]), new Map([["ns/d1", finished("d1", "other-uid")]]));
    await expect(recreated.waiters.wait("ns", "d1")).resolves.toBe(summary);
  });

  it("rejects the waiters when the read fails, rather than answer without the result", async () => {
    const failure = new Error("apiserver unavailable");
    const { waiters, bus } = registry(new Map(), new Map(), failure);
    const waiting = waiters.wait("ns", "d1");
    bus.update(summarizeFinished(finished("d1") as unknown as KubernetesObject) as unknown as Delegation);
    await expect(waiting).rejects.toBe(failure);
    expect(waiters.size).toBe(0);
  });

  it("does not read for a finished Delegation nobody waits for", async () => {
    const { reads, bus } = registry(new Map(), new Map());
    bus.update(summarizeFinished(finished("d1") as unknown as KubernetesObject) as unknown as Delegation);
    await Promise.resolve();
    expect(reads).toEqual([]);
  });
});

describe("WaiterRegistry hand-over from the dispatcher", () => {
  it("does not read while the dispatcher finishes the Delegation, and settles with its copy", async () => {
    const whole = finished("d1");
    const { waiters, reads, bus } = registry(new Map(), new Map([["ns/d1", whole]]));
    waiters.handOver((uid) => uid === "uid-d1");
    const waiting = waiters.wait("ns", "d1");
    bus.update(summarizeFinished(whole as unknown as KubernetesObject) as unknown as Delegation);
    waiters.observe(whole);
    await expect(waiting).resolves.toBe(whole);
    expect(reads).toEqual([]);
  });

  it("reads after the grace period when the dispatcher's copy never comes", async () => {
    vi.useFakeTimers();
    try {
      const whole = finished("d1");
      const { waiters, reads, bus } = registry(new Map(), new Map([["ns/d1", whole]]));
      waiters.handOver(() => true);
      const waiting = waiters.wait("ns", "d1");
      bus.update(summarizeFinished(whole as unknown as KubernetesObject) as unknown as Delegation);
      await vi.advanceTimersByTimeAsync(HANDOVER_GRACE_MS - 1);
      expect(reads).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await expect(waiting).resolves.toBe(whole);
      expect(reads).toEqual(["d1"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
