/**
 * Informer indexes against a stand-in API (list pages and a watch stream the test writes to): the
 * index follows the list, watch events, a relist after 410 Gone, and resyncs. The informer's
 * list/watch itself is covered against a real API server in test/integration/runtime.
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
const BY_TEAM = "team";
const byTeam = (obj: KubernetesObject) => (obj.metadata?.labels?.team ? [obj.metadata.labels.team] : []);

/** The objects of one resource, listed whole and watched through a stream per watch request. */
class FakeApi {
  readonly objects = new Map<string, KubernetesObject>();
  #version = 0;
  #stream: PassThrough | undefined;
  watches = 0;

  put(name: string, team: string | undefined, namespace = "ns"): KubernetesObject {
    const obj: KubernetesObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name,
        namespace,
        uid: `uid-${namespace}-${name}`,
        resourceVersion: String(++this.#version),
        ...(team && { labels: { team } }),
      },
    };
    this.objects.set(objectKey(obj), obj);
    return obj;
  }

  remove(name: string, namespace = "ns"): KubernetesObject {
    const obj = this.objects.get(`${namespace}/${name}`)!;
    this.objects.delete(objectKey(obj));
    this.#version++;
    return obj;
  }

  /** Sends a watch event on the open watch. */
  send(type: "ADDED" | "MODIFIED" | "DELETED" | "ERROR", object: unknown): void {
    this.#stream!.write(`${JSON.stringify({ type, object })}\n`);
  }

  watching(): boolean {
    return this.#stream !== undefined && !this.#stream.destroyed;
  }

  client(): KubeClient {
    return {
      get: async () => ({
        kind: "ConfigMapList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(this.#version) },
        // Listed items carry no apiVersion/kind, as from the API server.
        items: [...this.objects.values()].map(({ metadata }) => ({ metadata: structuredClone(metadata) })),
      }),
      watch: async (_path: string, _query: unknown, signal: AbortSignal) => {
        const stream = new PassThrough();
        signal.addEventListener("abort", () => stream.destroy(), { once: true });
        this.#stream = stream;
        this.watches++;
        return stream as unknown as http.IncomingMessage;
      },
    } as unknown as KubeClient;
  }
}

const informers: Informer[] = [];
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});

async function startInformer(api: FakeApi, resyncPeriodMs = 0): Promise<Informer> {
  const informer = new Informer({
    client: api.client(),
    resource: CONFIGMAPS,
    resyncPeriodMs,
    backoff: { initialMs: 1, maxMs: 1, jitter: 0 },
    logger: pino({ level: "silent" }),
  });
  informers.push(informer);
  informer.addIndexer(BY_TEAM, byTeam);
  informer.start();
  await informer.waitForSync();
  await vi.waitFor(() => expect(api.watching()).toBe(true));
  return informer;
}

const team = (informer: Informer, value: string) =>
  informer
    .byIndex(BY_TEAM, value)
    .map((o) => objectKey(o))
    .sort();

describe("Informer indexes", () => {
  it("index the listed objects, and every informer indexes by namespace", async () => {
    const api = new FakeApi();
    api.put("a", "red");
    api.put("b", "blue");
    api.put("c", "red", "other");
    const informer = await startInformer(api);
    expect(team(informer, "red")).toEqual(["ns/a", "other/c"]);
    expect(
      informer
        .byIndex(NAMESPACE_INDEX, "other")
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(["c"]);
    expect(informer.indexKeys(NAMESPACE_INDEX, "ns").sort()).toEqual(["ns/a", "ns/b"]);
  });

  it("follow watch events: an add, an update that changes the value (the object moves), a delete", async () => {
    const api = new FakeApi();
    const informer = await startInformer(api);
    api.send("ADDED", api.put("a", "red"));
    await vi.waitFor(() => expect(team(informer, "red")).toEqual(["ns/a"]));

    api.send("MODIFIED", api.put("a", "blue"));
    await vi.waitFor(() => expect(team(informer, "blue")).toEqual(["ns/a"]));
    expect(team(informer, "red")).toEqual([]);

    api.send("DELETED", api.remove("a"));
    await vi.waitFor(() => expect(informer.get("ns/a")).toBeUndefined());
    expect(team(informer, "blue")).toEqual([]);
    expect(informer.byIndex(NAMESPACE_INDEX, "ns")).toEqual([]);
  });

  it("follow a relist after 410 Gone: what changed, vanished or appeared while the watch was down", async () => {
    const api = new FakeApi();
    api.put("kept", "red");
    api.put("moved", "red");
    api.put("gone", "red");
    const informer = await startInformer(api);
    expect(team(informer, "red")).toEqual(["ns/gone", "ns/kept", "ns/moved"]);

    // Changes the watch never delivers.
    api.put("moved", "blue");
    api.remove("gone");
    api.put("new", "red");
    const watches = api.watches;
    api.send("ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" });
    await vi.waitFor(() => expect(api.watches).toBeGreaterThan(watches));

    expect(informer.stats.goneRelists).toBe(1);
    expect(team(informer, "red")).toEqual(["ns/kept", "ns/new"]);
    expect(team(informer, "blue")).toEqual(["ns/moved"]);
    expect(informer.indexKeys(NAMESPACE_INDEX, "ns").sort()).toEqual(["ns/kept", "ns/moved", "ns/new"]);
  });

  it("are unchanged by a resync, and an index added after sync covers the cached objects", async () => {
    const api = new FakeApi();
    api.put("a", "red");
    api.put("b", "blue");
    const informer = await startInformer(api, 10);
    const resynced = new Set<string>();
    informer.on("update", (oldObj, newObj) => {
      if (oldObj === newObj) resynced.add(objectKey(newObj));
    });
    await vi.waitFor(() => expect(resynced).toEqual(new Set(["ns/a", "ns/b"])));
    expect(team(informer, "red")).toEqual(["ns/a"]);
    expect(team(informer, "blue")).toEqual(["ns/b"]);

    informer.addIndexer("name", (o) => [o.metadata?.name ?? ""]);
    expect(informer.indexKeys("name", "b")).toEqual(["ns/b"]);
  });
});
