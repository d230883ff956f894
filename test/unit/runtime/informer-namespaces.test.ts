/**
 * An informer of several namespaces against a stand-in API that answers per request path: one
 * list+watch per namespace, never a cluster-wide request, synced once every namespace listed, and a
 * relist (410 Gone) of one namespace leaves the others' objects alone.
 */
import type http from "node:http";
import { PassThrough } from "node:stream";
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { KubeClient } from "../../../src/runtime/client.ts";
import { Informer } from "../../../src/runtime/informer.ts";
import { NAMESPACE_INDEX, objectKey } from "../../../src/runtime/store.ts";

const CONFIGMAPS = { group: "", version: "v1", plural: "configmaps" };

/** ConfigMaps in several namespaces; a list answers only the namespace of its path. */
class NamespacedApi {
  readonly objects = new Map<string, KubernetesObject>();
  readonly paths: string[] = [];
  readonly streams = new Map<string, PassThrough>();
  /** Lists of these paths wait until released. */
  readonly held = new Map<string, () => void>();
  #version = 0;

  put(namespace: string, name: string): KubernetesObject {
    const obj: KubernetesObject = {
      metadata: { name, namespace, uid: `uid-${namespace}-${name}`, resourceVersion: String(++this.#version) },
    };
    this.objects.set(objectKey(obj), obj);
    return obj;
  }

  hold(path: string): void {
    this.held.set(path, () => {});
  }

  client(): KubeClient {
    const namespaceOf = (path: string) => /\/namespaces\/([^/]+)\//.exec(path)?.[1];
    return {
      get: async (path: string) => {
        this.paths.push(`list ${path}`);
        if (this.held.has(path)) await new Promise<void>((resolve) => this.held.set(path, resolve));
        const ns = namespaceOf(path);
        return {
          kind: "ConfigMapList",
          apiVersion: "v1",
          metadata: { resourceVersion: String(this.#version) },
          items: [...this.objects.values()]
            .filter((o) => ns === undefined || o.metadata?.namespace === ns)
            .map(({ metadata }) => ({ metadata: structuredClone(metadata) })),
        };
      },
      watch: async (path: string, _query: unknown, signal: AbortSignal) => {
        this.paths.push(`watch ${path}`);
        const stream = new PassThrough();
        signal.addEventListener("abort", () => stream.destroy(), { once: true });
        this.streams.set(path, stream);
        return stream as unknown as http.IncomingMessage;
      },
    } as unknown as KubeClient;
  }
}

const pathOf = (ns: string) => `/api/v1/namespaces/${ns}/configmaps`;
const informers: Informer[] = [];
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});

function informerOf(api: NamespacedApi, namespaces: string[]): Informer {
  const informer = new Informer({
    client: api.client(),
    resource: CONFIGMAPS,
    namespaces,
    backoff: { initialMs: 1, maxMs: 1, jitter: 0 },
    logger: pino({ level: "silent" }),
  });
  informers.push(informer);
  return informer;
}

describe("an Informer of several namespaces", () => {
  it("lists and watches each namespace alone, never the whole cluster, and caches only theirs", async () => {
    const api = new NamespacedApi();
    api.put("a", "one");
    api.put("b", "two");
    api.put("c", "three");
    const informer = informerOf(api, ["a", "b"]);
    informer.start();
    await informer.waitForSync();
    await vi.waitFor(() => expect(api.streams.size).toBe(2));

    expect(informer.namespaces).toEqual(["a", "b"]);
    expect(
      informer
        .list()
        .map((o) => objectKey(o))
        .sort(),
    ).toEqual(["a/one", "b/two"]);
    expect(api.paths.sort()).toEqual([
      `list ${pathOf("a")}`,
      `list ${pathOf("b")}`,
      `watch ${pathOf("a")}`,
      `watch ${pathOf("b")}`,
    ]);
  });

  it("has synced only once every namespace has listed", async () => {
    const api = new NamespacedApi();
    api.hold(pathOf("b"));
    const informer = informerOf(api, ["a", "b"]);
    informer.start();
    await vi.waitFor(() => expect(api.paths).toContain(`watch ${pathOf("a")}`));
    expect(informer.hasSynced()).toBe(false);
    api.held.get(pathOf("b"))!();
    await informer.waitForSync();
    expect(informer.hasSynced()).toBe(true);
  });

  it("relists one namespace after 410 Gone without dropping the other namespaces' objects", async () => {
    const api = new NamespacedApi();
    api.put("a", "kept");
    api.put("b", "other");
    const informer = informerOf(api, ["a", "b"]);
    const deleted: string[] = [];
    const added: string[] = [];
    informer.start();
    await informer.waitForSync();
    informer.on("delete", (o) => deleted.push(objectKey(o)));
    informer.on("add", (o) => added.push(objectKey(o)));
    added.splice(0); // a handler added after sync is first handed the cached objects
    await vi.waitFor(() => expect(api.streams.size).toBe(2));

    api.put("a", "new");
    api.streams
      .get(pathOf("a"))!
      .write(
        `${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old" } })}\n`,
      );
    await vi.waitFor(() => expect(informer.get("a/new")).toBeDefined());

    expect(informer.stats.goneRelists).toBe(1);
    expect(deleted).toEqual([]);
    expect(added).toEqual(["a/new"]);
    expect(informer.get("b/other")).toBeDefined();
    expect(informer.indexKeys(NAMESPACE_INDEX, "b")).toEqual(["b/other"]);
    expect(api.paths.filter((p) => p === `list ${pathOf("b")}`)).toHaveLength(1);
  });
});
