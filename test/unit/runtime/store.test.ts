import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { diffSnapshot, keyOf, objectFields, objectKey, parseKey } from "../../../src/runtime/store.ts";

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
    expect([...diff.next.keys()].sort()).toEqual(["ns/changed", "ns/created", "ns/kept"]);
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
