/**
 * The informer against the real API server, and against the same server behind a faulty network
 * (a TCP proxy that resets, refuses, black-holes or freezes connections).
 */
import type { CoreV1Event, KubernetesObject, V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, FaultyProxy } from "../../../harness/index.ts";
import { compactEtcd, connectionVia, etcdUrl, TestResources, testLogger } from "../../../harness/vitest.ts";
import { KubeClient } from "../../../src/runtime/client.ts";
import { Informer, type InformerOptions } from "../../../src/runtime/informer.ts";

const CONFIGMAPS = { group: "", version: "v1", plural: "configmaps" };
const EVENTS = { group: "", version: "v1", plural: "events" };
const FAST_BACKOFF = { initialMs: 200, maxMs: 2000 };

let t: TestResources;

beforeAll(() => {
  t = new TestResources();
});

afterAll(async () => {
  await t.cleanup();
});

/** Records what handlers saw, as "add a", "update a", "delete a"; resyncs separately. */
function record<T extends KubernetesObject>(informer: Informer<T>) {
  const events: string[] = [];
  const resynced = new Set<string>();
  const name = (o: T) => o.metadata?.name ?? "?";
  informer.on("add", (o) => events.push(`add ${name(o)}`));
  informer.on("update", (oldObj, newObj) => {
    if (oldObj === newObj) resynced.add(name(newObj));
    else events.push(`update ${name(newObj)}`);
  });
  informer.on("delete", (o) => events.push(`delete ${name(o)}`));
  return { events, resynced };
}

function startInformer<T extends KubernetesObject>(options: Omit<InformerOptions<T>, "logger">): Informer<T> {
  const informer = new Informer<T>({ logger: testLogger, ...options });
  t.defer(() => informer.stop());
  informer.start();
  return informer;
}

/** A KubeClient whose connections go through a new FaultyProxy. */
async function clientBehindProxy(): Promise<{ proxy: FaultyProxy; client: KubeClient }> {
  const proxy = await FaultyProxy.start(t.kc.getCurrentCluster()!.server);
  const client = new KubeClient(connectionVia(t.connection, proxy.url));
  t.defer(() => proxy.close());
  t.defer(() => client.close());
  return { proxy, client };
}

function configMap(name: string, data: Record<string, string> = { v: "1" }, labels = { app: "rt" }): V1ConfigMap {
  return { metadata: { name, labels }, data };
}

const sorted = (items: KubernetesObject[]) => items.map((o) => o.metadata?.name).sort();

describe("Informer", () => {
  it("caches only metadata with metadataOnly, and still sees every change and both namespaces of a list", async () => {
    const [one, two, other] = [
      await t.namespace("rt-meta"),
      await t.namespace("rt-meta"),
      await t.namespace("rt-meta"),
    ];
    for (const namespace of [one, two, other])
      await t.core.createNamespacedConfigMap({ namespace, body: configMap("big", { blob: "x".repeat(100_000) }) });
    const informer = startInformer<V1ConfigMap>({
      client: t.client,
      resource: CONFIGMAPS,
      namespaces: [one, two],
      labelSelector: "app=rt",
      metadataOnly: true,
    });
    const seen = record(informer);
    await informer.waitForSync();
    expect(
      informer
        .list()
        .map((o) => o.metadata?.namespace)
        .sort(),
    ).toEqual([one, two].sort());
    const cached = informer.get(`${one}/big`)!;
    expect(cached.data).toBeUndefined();
    expect(cached.kind).toBe("PartialObjectMetadata");
    expect(cached.metadata?.labels).toEqual({ app: "rt" });
    expect(cached.metadata?.uid).toBeTruthy();
    // A change to data only is still an update: the resourceVersion moves.
    await t.mergePatch("configmaps", two, "big", { data: { blob: "y" } });
    await eventually("update big", async () => (seen.events.includes("update big") ? true : undefined));
    expect(informer.get(`${two}/big`)?.data).toBeUndefined();
  });

  it("delivers adds, updates and deletes of ConfigMaps matching its label selector, and resyncs", async () => {
    const namespace = await t.namespace("rt-informer");
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("before-start") });
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("unlabelled", {}, { app: "other" }) });

    const informer = startInformer<V1ConfigMap>({
      client: t.client,
      resource: CONFIGMAPS,
      namespace,
      labelSelector: "app=rt",
      resyncPeriodMs: 1000,
    });
    const seen = record(informer);
    await informer.waitForSync();
    expect(informer.hasSynced()).toBe(true);
    expect(sorted(informer.list())).toEqual(["before-start"]);
    expect(informer.get(`${namespace}/before-start`)?.data).toEqual({ v: "1" });
    expect(informer.get(`${namespace}/before-start`)?.kind).toBe("ConfigMap"); // filled in for list items
    expect(informer.get(`${namespace}/before-start`)?.metadata?.managedFields).toBeUndefined(); // not cached

    await t.core.createNamespacedConfigMap({ namespace, body: configMap("a") });
    await eventually("add a", async () => (seen.events.includes("add a") ? true : undefined));
    await t.mergePatch("configmaps", namespace, "a", { data: { v: "2" } });
    await eventually("update a", async () => (informer.get(`${namespace}/a`)?.data?.v === "2" ? true : undefined));
    expect(informer.get(`${namespace}/a`)?.metadata?.managedFields).toBeUndefined();
    await t.core.deleteNamespacedConfigMap({ namespace, name: "a" });
    await eventually("delete a", async () => (seen.events.includes("delete a") ? true : undefined));
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("unlabelled-2", {}, { app: "other" }) });
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("last") });
    await eventually("add last", async () => (seen.events.includes("add last") ? true : undefined));

    expect(seen.events).toEqual(["add before-start", "add a", "update a", "delete a", "add last"]);
    expect(informer.get(`${namespace}/a`)).toBeUndefined();
    await eventually("a resync of every cached object", async () =>
      seen.resynced.has("before-start") && seen.resynced.has("last") ? true : undefined,
    );
    expect(seen.resynced.has("unlabelled")).toBe(false);
    expect(informer.stats.resyncs).toBeGreaterThanOrEqual(1);
  });

  it("stores and hands to handlers what its transform returns, for listed and watched objects", async () => {
    const namespace = await t.namespace("rt-transform");
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("listed") });
    const informer = startInformer<V1ConfigMap>({
      client: t.client,
      resource: CONFIGMAPS,
      namespace,
      labelSelector: "app=rt",
      transform: (cm) => ({ ...cm, data: { size: String(JSON.stringify(cm.data ?? {}).length) } }),
    });
    const added: V1ConfigMap[] = [];
    informer.on("add", (cm) => added.push(cm));
    await informer.waitForSync();
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("watched") });
    await eventually("the watched ConfigMap", async () => (informer.get(`${namespace}/watched`) ? true : undefined));

    expect(informer.get(`${namespace}/listed`)?.data).toEqual({ size: '{"v":"1"}'.length.toString() });
    expect(informer.get(`${namespace}/watched`)?.data).toEqual({ size: '{"v":"1"}'.length.toString() });
    expect(informer.get(`${namespace}/watched`)?.metadata?.managedFields).toBeUndefined();
    expect(added.map((cm) => cm.data)).toEqual([{ size: "9" }, { size: "9" }]);
  });

  it("resumes from its last resourceVersion after connections are reset and refused, missing nothing", async () => {
    const namespace = await t.namespace("rt-reset");
    const { proxy, client } = await clientBehindProxy();
    const informer = startInformer<V1ConfigMap>({ client, resource: CONFIGMAPS, namespace, backoff: FAST_BACKOFF });
    const seen = record(informer);
    await informer.waitForSync();
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("kept") });
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("doomed") });
    await eventually("both ConfigMaps", async () => (informer.get(`${namespace}/doomed`) ? true : undefined));

    // Cut the network: every connection reset, new ones refused, while the cluster changes.
    proxy.setMode("refuse");
    proxy.resetAll();
    await t.core.deleteNamespacedConfigMap({ namespace, name: "doomed" });
    await t.mergePatch("configmaps", namespace, "kept", { data: { v: "changed" } });
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("created-while-down") });
    await eventually("the informer to fail at least twice", async () =>
      informer.stats.watchErrors >= 2 ? true : undefined,
    );
    expect(informer.get(`${namespace}/doomed`)).toBeDefined(); // it really was cut off
    proxy.setMode("pass");

    await eventually("the missed changes", async () =>
      seen.events.includes("delete doomed") && seen.events.includes("add created-while-down") ? true : undefined,
    );
    expect(seen.events).toContain("update kept");
    expect(informer.get(`${namespace}/kept`)?.data).toEqual({ v: "changed" });
    const server = await t.core.listNamespacedConfigMap({ namespace });
    expect(sorted(informer.list())).toEqual(sorted(server.items));
    // Resumed the watch from its resourceVersion: no second list was needed.
    expect(informer.stats.lists).toBe(1);
    expect(informer.stats.goneRelists).toBe(0);
  });

  it("aborts a watch whose connection goes silent (frozen, then black-holed) and resumes", async () => {
    const namespace = await t.namespace("rt-silent");
    const { proxy, client } = await clientBehindProxy();
    const informer = startInformer<V1ConfigMap>({
      client,
      resource: CONFIGMAPS,
      namespace,
      silenceTimeoutMs: 2500,
      watchTimeoutSeconds: 600, // the server would not end the watch for 10 minutes
      backoff: FAST_BACKOFF,
    });
    const seen = record(informer);
    await informer.waitForSync();
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("before") });
    await eventually("add before", async () => (seen.events.includes("add before") ? true : undefined));
    expect(proxy.connections).toBeGreaterThan(0);

    // Established connections stop carrying data without closing; new ones hang unanswered.
    const silentBefore = informer.stats.silentWatches;
    proxy.freezeAll();
    proxy.setMode("blackhole");
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("during") });
    await eventually("a silent watch to be detected", async () =>
      informer.stats.silentWatches > silentBefore ? true : undefined,
    );
    expect(informer.get(`${namespace}/during`)).toBeUndefined();
    proxy.setMode("pass");
    await t.core.createNamespacedConfigMap({ namespace, body: configMap("after") });

    await eventually("the events after the silence", async () =>
      seen.events.includes("add during") && seen.events.includes("add after") ? true : undefined,
    );
    expect(informer.stats.lists).toBe(1);
  });

  it("relists after 410 Gone (watch from a compacted resourceVersion) and delivers the missed deletes", async () => {
    // core/v1 Events are not served from the API server's watch cache: a watch from a resourceVersion
    // that etcd compacted away fails with a real 410 "too old resource version".
    const namespace = await t.namespace("rt-gone");
    const url = etcdUrl(t.kc);
    const { proxy, client } = await clientBehindProxy();
    const informer = startInformer<CoreV1Event>({ client, resource: EVENTS, namespace, backoff: FAST_BACKOFF });
    const seen = record(informer);
    await informer.waitForSync();
    const event = (name: string, message: string): CoreV1Event => ({
      metadata: { name },
      involvedObject: { kind: "ConfigMap", namespace, name: "subject", apiVersion: "v1" },
      reason: "Testing",
      message,
      type: "Normal",
    });
    for (const name of ["kept", "changed", "doomed"]) {
      await t.core.createNamespacedEvent({ namespace, body: event(name, "first") });
    }
    await eventually("three events", async () => (informer.list().length === 3 ? true : undefined));

    proxy.setMode("refuse");
    proxy.resetAll();
    await t.core.deleteNamespacedEvent({ namespace, name: "doomed" });
    await t.mergePatch("events", namespace, "changed", { message: "second" });
    await t.core.createNamespacedEvent({ namespace, body: event("created", "first") });
    await eventually("the informer to notice the outage", async () =>
      informer.stats.watchErrors >= 1 ? true : undefined,
    );
    await compactEtcd(url);
    proxy.setMode("pass");

    await eventually("a relist after 410", async () => (informer.stats.goneRelists >= 1 ? true : undefined));
    await eventually("the diff of the relist", async () => (seen.events.includes("delete doomed") ? true : undefined));
    expect(seen.events.slice(3).sort()).toEqual(["add created", "delete doomed", "update changed"]);
    expect(informer.get(`${namespace}/changed`)?.message).toBe("second");
    expect(sorted(informer.list())).toEqual(["changed", "created", "kept"]);
    expect(informer.stats.lists).toBe(2);
  });

  it("stop() ends the watch and rejects pending waitForSync", async () => {
    const { proxy, client } = await clientBehindProxy();
    proxy.setMode("blackhole");
    const informer = new Informer({ client, resource: CONFIGMAPS, logger: testLogger });
    informer.start();
    const waiting = informer.waitForSync();
    await informer.stop();
    await expect(waiting).rejects.toThrow("informer stopped");
    expect(informer.hasSynced()).toBe(false);
  });
});
