import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  diffSnapshot,
  IndexConflictError,
  IndexedStore,
  keyOf,
  objectFields,
  objectKey,
  parseKey,
  UnknownIndexError,
} from "../../../src/runtime/store.ts";

function cm(name: string, resourceVersion: string, uid = `uid-${name}`, namespace = "ns"): KubernetesObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, resourceVersion, uid } };
}

function store(...objects: KubernetesObject[]): Map<string, KubernetesObject> {
  return new Map(objects.map((o) => [objectKey(o), o]));
}

const names = (objects: KubernetesObject[]) => objects.map((o) => o.metadata?.name).sort();

describe("object keys", () => {
  it("is namespace/name, or name for cluster-scoped objects, and round-trips", () => {
    expect(objectKey(cm("a", "1"))).toBe("ns/a");
    expect(objectKey({ metadata: { name: "node-1" } })).toBe("node-1");
    expect(parseKey("ns/a")).toEqual({ namespace: "ns", name: "a" });
    expect(parseKey("node-1")).toEqual({ namespace: "", name: "node-1" });
    expect(keyOf(parseKey("ns/a"))).toBe("ns/a");
  });

  it("objectFields gives namespace and name for log lines", () => {
    expect(objectFields(cm("a", "1"))).toEqual({ namespace: "ns", name: "a" });
    expect(objectFields("ns/b")).toEqual({ namespace: "ns", name: "b" });
    expect(objectFields({ namespace: "", name: "c" })).toEqual({ name: "c" });
  });
});

describe("diffSnapshot (relist after 410 Gone)", () => {
  it("reports objects created, changed and deleted while the watch was down", () => {
    const before = store(cm("kept", "1"), cm("changed", "2"), cm("deleted", "3"));
    const list = [cm("kept", "1"), cm("changed", "7"), cm("created", "8")];
    const diff = diffSnapshot(before, list);

    expect(names(diff.added)).toEqual(["created"]);
    expect(diff.updated.map((u) => [u.oldObj.metadata?.resourceVersion, u.newObj.metadata?.resourceVersion])).toEqual([
      ["2", "7"],
    ]);
    expect(names(diff.deleted)).toEqual(["deleted"]);
    expect(diff.deleted[0]).toBe(before.get("ns/deleted")); // the last known state
  });

  it("treats a re-created object (same key, new uid) as a delete and an add", () => {
    const diff = diffSnapshot(store(cm("x", "1", "uid-old")), [cm("x", "5", "uid-new")]);
    expect(diff.deleted.map((o) => o.metadata?.uid)).toEqual(["uid-old"]);
    expect(diff.added.map((o) => o.metadata?.uid)).toEqual(["uid-new"]);
    expect(diff.updated).toEqual([]);
  });

  it("reports nothing when nothing changed, and everything as added into an empty store", () => {
    const objects = [cm("a", "1"), cm("b", "2")];
    const same = diffSnapshot(store(...objects), objects);
    expect([same.added, same.updated, same.deleted]).toEqual([[], [], []]);
    const fresh = diffSnapshot(new Map(), objects);
    expect(names(fresh.added)).toEqual(["a", "b"]);
  });
});

describe("IndexedStore", () => {
  const labelled = (name: string, team: string | undefined, namespace = "ns"): KubernetesObject => ({
    metadata: { name, namespace, ...(team !== undefined && { labels: { team } }) },
  });
  const byTeam = (obj: KubernetesObject) => (obj.metadata?.labels?.team ? [obj.metadata.labels.team] : []);
  const keys = (s: IndexedStore<KubernetesObject>, value: string) => s.indexKeys("team", value).sort();

  it("indexes on set, moves an object whose value changes, and forgets it on delete", () => {
    const s = new IndexedStore<KubernetesObject>();
    s.addIndexer("team", byTeam);
    s.set("ns/a", labelled("a", "red"));
    s.set("ns/b", labelled("b", "red"));
    expect(keys(s, "red")).toEqual(["ns/a", "ns/b"]);

    s.set("ns/a", labelled("a", "blue"));
    expect(keys(s, "red")).toEqual(["ns/b"]);
    expect(s.byIndex("team", "blue").map((o) => o.metadata?.name)).toEqual(["a"]);

    s.set("ns/b", labelled("b", undefined));
    expect(keys(s, "red")).toEqual([]);
    expect(s.delete("ns/a")?.metadata?.name).toBe("a");
    expect(s.delete("ns/a")).toBeUndefined();
    expect(keys(s, "blue")).toEqual([]);
  });

  it("indexes an object under each distinct value its function returns", () => {
    const s = new IndexedStore<KubernetesObject>();
    s.addIndexer("letters", (o) => [...(o.metadata?.name ?? "")]);
    s.set("ns/abba", labelled("abba", undefined));
    expect(s.indexKeys("letters", "a")).toEqual(["ns/abba"]);
    expect(s.indexKeys("letters", "b")).toEqual(["ns/abba"]);
    s.set("ns/abba", labelled("ab", undefined));
    s.delete("ns/abba");
    expect(s.indexKeys("letters", "a")).toEqual([]);
  });

  it("indexes the objects already stored when an index is added later", () => {
    const s = new IndexedStore<KubernetesObject>();
    s.set("ns/a", labelled("a", "red"));
    s.set("other/a", labelled("a", "red", "other"));
    s.addIndexer("team", byTeam);
    expect(keys(s, "red")).toEqual(["ns/a", "other/a"]);
  });

  it("accepts the same function under the same name again, refuses another one, and names unknown indexes", () => {
    const s = new IndexedStore<KubernetesObject>();
    s.addIndexer("team", byTeam);
    s.addIndexer("team", byTeam);
    expect(() => s.addIndexer("team", () => [])).toThrow(IndexConflictError);
    expect(() => s.byIndex("nope", "x")).toThrow(UnknownIndexError);
  });

  it("leaves an object out of an index whose function throws, and reports it", () => {
    const errors: string[] = [];
    const s = new IndexedStore<KubernetesObject>({
      onIndexError: (index, obj) => errors.push(`${index} ${obj.metadata?.name}`),
    });
    s.addIndexer("team", (o) => {
      if (o.metadata?.name === "bad") throw new Error("boom");
      return byTeam(o);
    });
    s.set("ns/bad", labelled("bad", "red"));
    s.set("ns/good", labelled("good", "red"));
    expect(keys(s, "red")).toEqual(["ns/good"]);
    expect(errors).toEqual(["team bad"]);
    expect(s.get("ns/bad")).toBeDefined();
    // The old side of an update or delete is recomputed, not reported again.
    s.delete("ns/bad");
    expect(errors).toEqual(["team bad"]);
    expect(keys(s, "red")).toEqual(["ns/good"]);
  });

  it("recomputes the old object's values on update, so a moved object leaves its old value", () => {
    const s = new IndexedStore<KubernetesObject>();
    s.addIndexer("team", byTeam);
    s.set("ns/a", labelled("a", "red"));
    s.set("ns/b", labelled("b", "red"));
    s.set("ns/a", labelled("a", "blue"));
    s.set("ns/a", labelled("a", "blue"));
    expect(keys(s, "red")).toEqual(["ns/b"]);
    expect(keys(s, "blue")).toEqual(["ns/a"]);
    s.delete("ns/b");
    expect(s.indexCount("team", "red")).toBe(0);
  });
});
