/**
 * Controller wiring with stand-in informers (event sources only; no API involved): which requests
 * reach reconcile, and what happens after errors, successes and requeueAfter. The real informers
 * are covered against a real API server in test/integration/runtime.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CacheSyncTimeoutError,
  Controller,
  type ControllerOptions,
  ownerRequests,
  type Request,
} from "../../../src/runtime/controller.ts";
import type { Informer, InformerEvents } from "../../../src/runtime/informer.ts";
import type { ControllerMetrics, ReconcileOutcome } from "../../../src/runtime/metrics.ts";
import { ItemExponentialFailureRateLimiter } from "../../../src/runtime/ratelimiter.ts";

type Handlers = { [E in keyof InformerEvents<KubernetesObject>]: Set<InformerEvents<KubernetesObject>[E]> };

/** Stands in for an Informer: the controller only subscribes and waits for sync. */
class FakeSource {
  readonly handlers: Handlers = { add: new Set(), update: new Set(), delete: new Set() };
  synced = true;
  on<E extends keyof Handlers>(event: E, fn: InformerEvents<KubernetesObject>[E]) {
    (this.handlers[event] as Set<typeof fn>).add(fn);
    return () => this.handlers[event].delete(fn as never);
  }
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
  }
  add(obj: KubernetesObject) {
    for (const fn of this.handlers.add) fn(obj);
  }
  update(oldObj: KubernetesObject, newObj: KubernetesObject) {
    for (const fn of this.handlers.update) fn(oldObj, newObj);
  }
  asInformer(): Informer<KubernetesObject> {
    return this as unknown as Informer<KubernetesObject>;
  }
}

const agent = (name: string, namespace = "ns"): KubernetesObject => ({
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "Agent",
  metadata: { name, namespace, uid: `uid-${name}` },
});

const ownedBy = (name: string, owner: string, controller = true, kind = "Agent"): KubernetesObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: {
    name,
    namespace: "ns",
    ownerReferences: [{ apiVersion: "clawcrew.io/v1alpha1", kind, name: owner, uid: `uid-${owner}`, controller }],
  },
});

const silent = pino({ level: "silent" });
const controllers: Controller[] = [];

function controller(
  options: Partial<ControllerOptions<KubernetesObject>> &
    Pick<ControllerOptions<KubernetesObject>, "reconcile" | "primary">,
) {
  const c = new Controller({
    name: "test",
    forKind: { apiVersion: "clawcrew.io/v1alpha1", kind: "Agent" },
    logger: silent,
    rateLimiter: new ItemExponentialFailureRateLimiter(20, 1000),
    ...options,
  });
  controllers.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop({ graceMs: 100 })));
});

describe("Controller", () => {
  it("reconciles primary objects by namespace/name once per burst of events", async () => {
    const primary = new FakeSource();
    const seen: Request[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const c = controller({
      primary: primary.asInformer(),
      reconcile: async (request) => {
        seen.push(request);
        await gate;
      },
    });
    await c.start();
    primary.add(agent("a"));
    primary.update(agent("a"), agent("a"));
    primary.add(agent("b"));
    primary.add(agent("b"));
    release();
    await vi.waitFor(() => expect(seen).toHaveLength(3));
    // "a" was re-added while processing: reconciled once more afterwards; "b" twice-added, once run.
    expect(seen).toEqual([
      { namespace: "ns", name: "a" },
      { namespace: "ns", name: "b" },
      { namespace: "ns", name: "a" },
    ]);
  });

  it("retries a failing request with growing backoff, then forgets the failures after a success", async () => {
    const primary = new FakeSource();
    const attempts: { at: number; retries: number }[] = [];
    const outcomes: ReconcileOutcome[] = [];
    const metrics: ControllerMetrics = {
      reconcileCompleted: (_labels, outcome) => outcomes.push(outcome),
      queueDepth() {},
      queueRetried() {},
      queueLatency() {},
      activeWorkers() {},
    };
    const c = controller({
      primary: primary.asInformer(),
      metrics,
      reconcile: async (_request, { retries }) => {
        attempts.push({ at: performance.now(), retries });
        if (attempts.length <= 3) throw new Error("transient");
      },
    });
    await c.start();
    primary.add(agent("a"));
    await vi.waitFor(() => expect(attempts).toHaveLength(4), { timeout: 3000 });
    expect(attempts.map((a) => a.retries)).toEqual([0, 1, 2, 3]);
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    // 20 ms, 40 ms, 80 ms (timers may fire late, never early)
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
    expect(outcomes).toEqual(["error", "error", "error", "success"]);

    // forgotten: the next failure starts from the base delay again
    primary.add(agent("a"));
    await vi.waitFor(() => expect(attempts).toHaveLength(5));
    expect(attempts[4]?.retries).toBe(0);
  });

  it("reconciles again after requeueAfter", async () => {
    const primary = new FakeSource();
    const times: number[] = [];
    const c = controller({
      primary: primary.asInformer(),
      reconcile: async () => {
        times.push(performance.now());
        return times.length === 1 ? { requeueAfter: 150 } : undefined;
      },
    });
    await c.start();
    primary.add(agent("a"));
    await vi.waitFor(() => expect(times).toHaveLength(2), { timeout: 2000 });
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(149);
    await new Promise((r) => setTimeout(r, 300));
    expect(times).toHaveLength(2); // no further requeue
  });

  it("maps owned objects to their controller owner, and watched objects through the mapping function", async () => {
    const primary = new FakeSource();
    const owned = new FakeSource();
    const watched = new FakeSource();
    const seen: string[] = [];
    const c = controller({
      primary: primary.asInformer(),
      owns: [{ informer: owned.asInformer() }],
      watches: [
        {
          informer: watched.asInformer(),
          map: (obj) => [{ namespace: "ns", name: `${obj.metadata?.labels?.agent}` }],
        },
      ],
      reconcile: async (request) => {
        seen.push(`${request.namespace}/${request.name}`);
      },
    });
    await c.start();
    owned.add(ownedBy("cm-1", "owner-a"));
    owned.add(ownedBy("cm-2", "not-controller", false));
    owned.add(ownedBy("cm-3", "other-kind", true, "Team"));
    watched.add({ metadata: { name: "secret", namespace: "ns", labels: { agent: "mapped-b" } } });
    await vi.waitFor(() => expect(seen.sort()).toEqual(["ns/mapped-b", "ns/owner-a"]));
  });

  it("stop() waits for in-flight reconciles and takes no new requests", async () => {
    const primary = new FakeSource();
    let finished = false;
    let calls = 0;
    const c = controller({
      primary: primary.asInformer(),
      reconcile: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 100));
        finished = true;
      },
    });
    await c.start();
    primary.add(agent("a"));
    await vi.waitFor(() => expect(calls).toBe(1));
    await c.stop();
    expect(finished).toBe(true);
    primary.add(agent("b"));
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    expect(primary.handlers.add.size).toBe(0); // unsubscribed
  });

  it("start() fails with CacheSyncTimeoutError when an informer never syncs", async () => {
    const primary = new FakeSource();
    primary.synced = false;
    const c = controller({ primary: primary.asInformer(), syncTimeoutMs: 50, reconcile: async () => {} });
    await expect(c.start()).rejects.toBeInstanceOf(CacheSyncTimeoutError);
  });
});

describe("ownerRequests", () => {
  it("matches the controller reference by kind and API group, ignoring the version", () => {
    const owner = { apiVersion: "clawcrew.io/v1beta1", kind: "Agent" };
    expect(ownerRequests(ownedBy("cm", "a"), owner)).toEqual([{ namespace: "ns", name: "a" }]);
    expect(ownerRequests(ownedBy("cm", "a"), { apiVersion: "other.io/v1", kind: "Agent" })).toEqual([]);
    expect(ownerRequests(ownedBy("cm", "a", false), owner)).toEqual([]);
  });
});
