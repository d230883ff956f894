/** Object keys (`namespace/name`, or `name` when cluster-scoped), the indexed store of an informer, and the relist diff. */
import type { KubernetesObject } from "@kubernetes/client-node";

/** The parts of an object that name it: any object read from the API, parsed by a schema or not. */
export interface NamedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface ObjectKey {
  /** "" for cluster-scoped objects. */
  namespace: string;
  name: string;
}

/** The store/workqueue key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(obj: NamedObject): string {
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
export function objectFields(ref: NamedObject | ObjectKey | string): { namespace?: string; name: string } {
  const { namespace, name } =
    typeof ref === "string"
      ? parseKey(ref)
      : isObjectKey(ref)
        ? ref
        : { namespace: ref.metadata?.namespace ?? "", name: ref.metadata?.name ?? "" };
  return namespace ? { namespace, name } : { name };
}

function isObjectKey(ref: NamedObject | ObjectKey): ref is ObjectKey {
  return typeof (ref as ObjectKey).name === "string" && !("metadata" in ref);
}

export interface SnapshotDiff<T> {
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
  const listed = new Set<string>();
  const diff: SnapshotDiff<T> = { added: [], updated: [], deleted: [] };
  for (const obj of items) {
    const key = objectKey(obj);
    listed.add(key);
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
    if (!listed.has(key)) diff.deleted.push(old);
  }
  return diff;
}

/**
 * The values an object is indexed under, like client-go's IndexFunc: none, one or several. It sees
 * every cached object, including ones that do not match their kind's schema, and must not throw.
 */
export type IndexFunction<T> = (obj: T) => readonly string[];

/** The index every informer has: objects by metadata.namespace ("" when cluster-scoped). */
export const NAMESPACE_INDEX = "namespace";
export const byNamespace: IndexFunction<KubernetesObject> = (obj) => [obj.metadata?.namespace ?? ""];

/** byIndex() or indexKeys() named an index that was never added. */
export class UnknownIndexError extends Error {
  override readonly name = "UnknownIndexError";
  constructor(index: string) {
    super(`no index named ${JSON.stringify(index)}; add it with addIndexer() first`);
  }
}

/** addIndexer() with a name already taken by another function. */
export class IndexConflictError extends Error {
  override readonly name = "IndexConflictError";
  constructor(index: string) {
    super(`an index named ${JSON.stringify(index)} exists with another function`);
  }
}

// No map from object to its values: like client-go's updateIndices, an update recomputes the old
// object's values, since index functions are pure. That map cost a third of a cached Delegation.
interface Index<T> {
  values: IndexFunction<T>;
  /** Index value → keys of the objects indexed under it. */
  keysByValue: Map<string, Set<string>>;
}

export interface IndexedStoreOptions<T> {
  /** An index function threw: the object is left out of that index (and the error reported here). */
  onIndexError?: (index: string, obj: T, error: unknown) => void;
}

/** What readers of a cache use: an Informer, or an IndexedStore standing in for one in tests. */
export type IndexedCache<T extends KubernetesObject> = Pick<
  IndexedStore<T>,
  "get" | "addIndexer" | "byIndex" | "indexKeys" | "indexCount"
>;

/**
 * Objects by key, with secondary indexes kept up to date on every write, like client-go's
 * ThreadSafeStore: byIndex costs the size of the answer, not of the store.
 */
export class IndexedStore<T extends KubernetesObject> {
  readonly #items = new Map<string, T>();
  readonly #indexes = new Map<string, Index<T>>();
  readonly #onIndexError: IndexedStoreOptions<T>["onIndexError"];

  constructor(options: IndexedStoreOptions<T> = {}) {
    this.#onIndexError = options.onIndexError;
  }

  /** The objects by key, read-only. */
  get items(): ReadonlyMap<string, T> {
    return this.#items;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  set(key: string, obj: T): void {
    const previous = this.#items.get(key);
    this.#items.set(key, obj);
    for (const [name, index] of this.#indexes) this.#reindex(name, index, key, previous, obj);
  }

  /** Removes the object; returns it, or undefined when there was none. */
  delete(key: string): T | undefined {
    const obj = this.#items.get(key);
    if (obj === undefined) return undefined;
    this.#items.delete(key);
    for (const [name, index] of this.#indexes) this.#reindex(name, index, key, obj, undefined);
    return obj;
  }

  /**
   * Adds an index and indexes the objects already stored. Adding the same function under the same
   * name again does nothing, so that every module that needs an index may add it.
   */
  addIndexer(name: string, values: IndexFunction<T>): void {
    const existing = this.#indexes.get(name);
    if (existing) {
      if (existing.values !== values) throw new IndexConflictError(name);
      return;
    }
    const index: Index<T> = { values, keysByValue: new Map() };
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#items) this.#reindex(name, index, key, undefined, obj);
  }

  /** The objects indexed under `value`, in no particular order. */
  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (!index) throw new UnknownIndexError(name);
    const out: T[] = [];
    for (const key of index.keysByValue.get(value) ?? []) out.push(this.#items.get(key)!);
    return out;
  }

  /** How many objects are indexed under `value`, without listing them. */
  indexCount(name: string, value: string): number {
    const index = this.#indexes.get(name);
    if (!index) throw new UnknownIndexError(name);
    return index.keysByValue.get(value)?.size ?? 0;
  }

  /** The keys of the objects indexed under `value`. */
  indexKeys(name: string, value: string): string[] {
    const index = this.#indexes.get(name);
    if (!index) throw new UnknownIndexError(name);
    return [...(index.keysByValue.get(value) ?? [])];
  }

  /** Moves `key` from the values `previous` was indexed under to those of `obj` (none when absent). */
  #reindex(name: string, index: Index<T>, key: string, previous: T | undefined, obj: T | undefined): void {
    const before = previous === undefined ? NO_VALUES : this.#valuesOf(name, index, previous, false);
    const after = obj === undefined ? NO_VALUES : this.#valuesOf(name, index, obj, true);
    for (const value of before) {
      if (after.includes(value)) continue;
      const keys = index.keysByValue.get(value);
      keys?.delete(key);
      if (keys?.size === 0) index.keysByValue.delete(value);
    }
    for (const value of after) {
      const keys = index.keysByValue.get(value);
      if (keys) keys.add(key);
      else index.keysByValue.set(value, new Set([key]));
    }
  }

  /** The object's distinct index values; a throw is reported once, when the object is stored. */
  #valuesOf(name: string, index: Index<T>, obj: T, report: boolean): readonly string[] {
    try {
      const values = index.values(obj);
      return values.length < 2 ? values : [...new Set(values)];
    } catch (error) {
      if (report) this.#onIndexError?.(name, obj, error);
      return NO_VALUES;
    }
  }
}

const NO_VALUES: readonly string[] = [];
