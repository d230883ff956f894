/**
 * A small controller end to end against the real API server: "primary" ConfigMaps are reconciled
 * into owned "child" ConfigMaps with server-side apply; events of the children reach the owner.
 */
import type { V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../harness/index.ts";
import { TestResources, testLogger } from "../../../harness/vitest.ts";
import { apply, ownerReference } from "../../../src/runtime/apply.ts";
import { Controller } from "../../../src/runtime/controller.ts";
import { Informer } from "../../../src/runtime/informer.ts";
import type { ControllerMetrics, ReconcileOutcome } from "../../../src/runtime/metrics.ts";
import { ItemExponentialFailureRateLimiter } from "../../../src/runtime/ratelimiter.ts";
import { keyOf } from "../../../src/runtime/store.ts";

const CONFIGMAPS = { group: "", version: "v1", plural: "configmaps" };

let t: TestResources;

beforeAll(() => {
  t = new TestResources();
});

afterAll(async () => {
  await t.cleanup();
});

describe("Controller", () => {
  it("reconciles primaries into owned children, reacts to child deletion, and retries failures", async () => {
    const namespace = await t.namespace("rt-controller");
    const primaries = new Informer<V1ConfigMap>({
      client: t.client,
      resource: CONFIGMAPS,
      namespace,
      labelSelector: "role=primary",
      logger: testLogger,
    });
    const children = new Informer<V1ConfigMap>({
      client: t.client,
      resource: CONFIGMAPS,
      namespace,
      labelSelector: "role=child",
      logger: testLogger,
    });
    for (const informer of [primaries, children]) {
      informer.start();
      t.defer(() => informer.stop());
    }

    const outcomes: ReconcileOutcome[] = [];
    const labelSets = new Set<string>();
    const metrics: ControllerMetrics = {
      reconcileCompleted: (labels, outcome) => {
        labelSets.add(JSON.stringify(labels));
        outcomes.push(outcome);
      },
      queueDepth() {},
      queueRetried() {},
      queueLatency() {},
      activeWorkers() {},
    };
    const failuresLeft = new Map<string, number>([["flaky", 2]]);
    const controller = new Controller<V1ConfigMap>({
      name: "mirror",
      forKind: { apiVersion: "v1", kind: "ConfigMap" },
      primary: primaries,
      owns: [{ informer: children }],
      concurrency: 2,
      metrics,
      logger: testLogger,
      rateLimiter: new ItemExponentialFailureRateLimiter(50, 1000),
      reconcile: async ({ namespace: ns, name }) => {
        const primary = primaries.get(keyOf({ namespace: ns, name }));
        if (!primary) return; // deleted: the garbage collector removes the child
        const left = failuresLeft.get(name) ?? 0;
        if (left > 0) {
          failuresLeft.set(name, left - 1);
          throw new Error(`injected failure, ${left - 1} left`);
        }
        await apply(t.client, {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: `${name}-child`,
            namespace: ns,
            labels: { role: "child" },
            ownerReferences: [ownerReference(primary)],
          },
          data: primary.data ?? {},
        });
      },
    });
    t.defer(() => controller.stop());
    await controller.start();

    const child = (name: string) => children.get(keyOf({ namespace, name: `${name}-child` }));
    const primary = (name: string, data: Record<string, string>): V1ConfigMap => ({
      metadata: { name, labels: { role: "primary" } },
      data,
    });

    await t.core.createNamespacedConfigMap({ namespace, body: primary("p1", { greeting: "hello" }) });
    await eventually("child of p1", async () => (child("p1")?.data?.greeting === "hello" ? true : undefined));

    await t.mergePatch("configmaps", namespace, "p1", { data: { greeting: "bonjour" } });
    await eventually("child of p1 updated", async () => (child("p1")?.data?.greeting === "bonjour" ? true : undefined));

    // Deleting the child is an event of an owned object: it maps to p1, which recreates it.
    const oldUid = child("p1")?.metadata?.uid;
    await t.core.deleteNamespacedConfigMap({ namespace, name: "p1-child" });
    await eventually("child of p1 recreated", async () => {
      const recreated = child("p1");
      return recreated && recreated.metadata?.uid !== oldUid ? true : undefined;
    });

    // Two failures, retried with backoff, then success.
    await t.core.createNamespacedConfigMap({ namespace, body: primary("flaky", { v: "1" }) });
    await eventually("child of flaky", async () => (child("flaky") ? true : undefined));
    expect(failuresLeft.get("flaky")).toBe(0);
    expect(outcomes.filter((o) => o === "error")).toHaveLength(2);
    expect([...labelSets]).toEqual([JSON.stringify({ controller: "mirror", kind: "ConfigMap" })]);

    await controller.stop();
    await t.core.createNamespacedConfigMap({ namespace, body: primary("after-stop", {}) });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(child("after-stop")).toBeUndefined();
  });
});
