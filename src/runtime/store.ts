/** Object keys (`namespace/name`, or `name` when cluster-scoped) and the relist diff. */
import type { KubernetesObject } from "@kubernetes/client-node";

export interface ObjectKey {
  /** "" for cluster-scoped objects. */
  namespace: string;
  name: string;
}

/** The store/workqueue key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(obj: KubernetesObject): string {
  return keyOf({ namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" });
}

export function keyOf(ref: ObjectKey): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf("/");
  return slash < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Log fields that identify an object in every log line about it. */
export function objectFields(ref: KubernetesObject | ObjectKey | string): { namespace?: string; name: string } {
  const { namespace, name } =
    typeof ref === "string"
      ? parseKey(ref)
      : isObjectKey(ref)
        ? ref
        : { namespace: ref.metadata?.namespace ?? "", name: ref.metadata?.name ?? "" };
  return namespace ? { namespace, name } : { name };
}

function isObjectKey(ref: KubernetesObject | ObjectKey): ref is ObjectKey {
  return typeof (ref as ObjectKey).name === "string" && !("metadata" in ref);
}

export interface SnapshotDiff<T> {
  /** The store after the relist. */
  next: Map<string, T>;
  added: T[];
  updated: { oldObj: T; newObj: T }[];
  /** Last known state of objects that vanished while the watch was down. */
  deleted: T[];
}

/**
 * Compares the store with a fresh list. An object counts as updated when its resourceVersion
 * changed; a recreated object (same key, new uid) counts as a delete followed by an add.
 */
export function diffSnapshot<T extends KubernetesObject>(
  previous: ReadonlyMap<string, T>,
  items: readonly T[],
): SnapshotDiff<T> {
  const next = new Map<string, T>();
  const diff: SnapshotDiff<T> = { next, added: [], updated: [], deleted: [] };
  for (const obj of items) {
    const key = objectKey(obj);
    next.set(key, obj);
    const old = previous.get(key);
    if (!old) {
      diff.added.push(obj);
    } else if (old.metadata?.uid && obj.metadata?.uid && old.metadata.uid !== obj.metadata.uid) {
      diff.deleted.push(old);
      diff.added.push(obj);
    } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
      diff.updated.push({ oldObj: old, newObj: obj });
    }
  }
  for (const [key, old] of previous) {
    if (!next.has(key)) diff.deleted.push(old);
  }
  return diff;
}
