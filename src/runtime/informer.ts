/**
 * List+watch of one resource into an in-memory store, like client-go's Reflector + SharedInformer:
 *
 * - list (paged, consistent read), then watch from the list's resourceVersion;
 * - a watch that ends or fails is resumed from the last seen resourceVersion, after an exponential
 *   backoff with jitter when it failed;
 * - 410 Gone ("too old resource version") relists and emits the diff between store and list, so
 *   handlers see the adds/updates/deletes that happened while the watch was down;
 * - a connection that stays silent (no event, no bookmark) for `silenceTimeoutMs` is aborted and
 *   resumed: bookmarks are requested and the server ends each watch after `timeoutSeconds`;
 * - every `resyncPeriodMs` each cached object is delivered again as an update(obj, obj);
 * - indexes (addIndexer, byIndex) follow every add, update, delete and relist, like client-go's
 *   Indexer; every informer indexes its objects by namespace (NAMESPACE_INDEX);
 * - with several namespaces, one list+watch per namespace feeds the one store, like controller-runtime's
 *   multi-namespace cache: nothing is read outside them, and a relist of one touches only its own objects.
 *
 * Handlers run synchronously in event order; they should only enqueue work.
 */
import type http from "node:http";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
import type { KubeClient } from "./client.ts";
import { errorFromWatchStatus, isGone, KubeApiError, toKubeApiError } from "./errors.ts";
import { defaultLogger, errorFields, type Logger } from "./log.ts";
import { type GroupVersionResource, resourcePath } from "./resource.ts";
import {
  byNamespace,
  diffSnapshot,
  IndexedStore,
  type IndexFunction,
  NAMESPACE_INDEX,
  objectFields,
  objectKey,
} from "./store.ts";

export interface InformerOptions<T extends KubernetesObject = KubernetesObject> {
  client: KubeClient;
  resource: GroupVersionResource;
  /** Watch one namespace; all namespaces (or a cluster-scoped resource) when unset. */
  namespace?: string;
  /** Watch these namespaces, one list+watch each (instead of `namespace`). */
  namespaces?: readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * List and watch PartialObjectMetadata (apiVersion meta.k8s.io/v1): the API server sends only each
   * object's metadata, like controller-runtime's metadata-only watches. For kinds read only for
   * their owners, labels or versions.
   */
  metadataOnly?: boolean;
  /** Re-deliver every cached object as an update this often. 0 (default) disables resync. */
  resyncPeriodMs?: number;
  /** Server-side lifetime of one watch request. Default: random in [300, 600) s, like client-go. */
  watchTimeoutSeconds?: number;
  /** Abort and resume a watch that received nothing (not even a bookmark) for this long. Default 90 s. */
  silenceTimeoutMs?: number;
  /** Page size of the list. Default 500. */
  pageSize?: number;
  /** Delay between failed attempts. Default 800 ms doubling to 30 s, jitter 0.5. */
  backoff?: BackoffOptions;
  /**
   * Applied to every listed or watched object (after managedFields are dropped) before it is stored
   * and handed to handlers, like client-go's SetTransform: a way to keep less in memory.
   */
  transform?: (obj: T) => T;
  logger?: Logger;
}

export interface InformerEvents<T> {
  add: (obj: T) => void;
  /** `oldObj === newObj` on a resync. */
  update: (oldObj: T, newObj: T) => void;
  /** The last known state; after a relist it may be older than the deletion. */
  delete: (obj: T) => void;
}

/** Counters for metrics and tests. */
export interface InformerStats {
  lists: number;
  watches: number;
  /** Failed list or watch attempts (each followed by a backoff). */
  watchErrors: number;
  /** Relists caused by 410 Gone. */
  goneRelists: number;
  /** Watches aborted because they went silent. */
  silentWatches: number;
  resyncs: number;
  resourceVersion: string | undefined;
}

/** A watch received nothing for longer than the silence timeout. */
export class WatchSilenceError extends Error {
  override readonly name = "WatchSilenceError";
  constructor(ms: number) {
    super(`watch received no event or bookmark for ${ms} ms`);
  }
}

/** The server ended a watch at once without sending anything (client-go's "very short watch"). */
export class ShortWatchError extends Error {
  override readonly name = "ShortWatchError";
}

/** waitForSync() was pending when the informer stopped. */
export class InformerStoppedError extends Error {
  override readonly name = "InformerStoppedError";
}

interface WatchEvent {
  type: string;
  object: KubernetesObject;
}

interface ObjectList<T> {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** One list+watch: of every namespace, or of one. */
interface Scope {
  namespace: string | undefined;
  path: string;
  backoff: Backoff;
  log: Logger;
  resourceVersion: string | undefined;
  synced: boolean;
}

type Handlers<T> = { [E in keyof InformerEvents<T>]: Set<InformerEvents<T>[E]> };

const SHORT_WATCH_MS = 1000;
const METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const METADATA_OBJECT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly resource: GroupVersionResource;
  /** The namespaces watched; empty for all namespaces (or a cluster-scoped resource). */
  readonly namespaces: readonly string[];
  readonly #client: KubeClient;
  readonly #options: InformerOptions<T>;
  readonly #log: Logger;
  readonly #scopes: Scope[];
  readonly #silenceTimeoutMs: number;
  readonly #handlers: Handlers<T> = { add: new Set(), update: new Set(), delete: new Set() };
  readonly #store: IndexedStore<T>;
  #stats: InformerStats = {
    lists: 0,
    watches: 0,
    watchErrors: 0,
    goneRelists: 0,
    silentWatches: 0,
    resyncs: 0,
    resourceVersion: undefined,
  };
  #synced = false;
  #syncWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #abort: AbortController | undefined;
  #running: Promise<void> | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    this.#client = options.client;
    this.resource = options.resource;
    this.namespaces = options.namespaces ?? (options.namespace ? [options.namespace] : []);
    this.#silenceTimeoutMs = options.silenceTimeoutMs ?? 90_000;
    const { group, version, plural } = options.resource;
    this.#log = (options.logger ?? defaultLogger).child({
      component: "informer",
      resource: group ? `${plural}.${version}.${group}` : `${plural}.${version}`,
    });
    const scope = (namespace: string | undefined): Scope => ({
      namespace,
      path: resourcePath(options.resource, { namespace }),
      backoff: new Backoff(options.backoff),
      log: namespace ? this.#log.child({ watchNamespace: namespace }) : this.#log,
      resourceVersion: undefined,
      synced: false,
    });
    this.#scopes = this.namespaces.length ? this.namespaces.map(scope) : [scope(undefined)];
    this.#store = new IndexedStore<T>({
      onIndexError: (index, obj, error) =>
        this.#log.error(
          { err: error, index, ...objectFields(obj) },
          "index function threw; object left out of the index",
        ),
    });
    this.#store.addIndexer(NAMESPACE_INDEX, byNamespace);
  }

  /** Starts listing and watching in the background. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#abort = new AbortController();
    const signal = this.#abort.signal;
    this.#running = Promise.all(this.#scopes.map((scope) => this.#run(scope, signal))).then(() => {});
    const resync = this.#options.resyncPeriodMs ?? 0;
    if (resync > 0) {
      this.#resyncTimer = setInterval(() => this.#resync(), resync);
      this.#resyncTimer.unref();
    }
  }

  /** Stops the watch and resolves once the loop exited. The store keeps its last content. */
  async stop(): Promise<void> {
    clearInterval(this.#resyncTimer);
    this.#abort?.abort();
    await this.#running;
    this.#running = undefined;
    for (const waiter of this.#syncWaiters.splice(0)) waiter.reject(new InformerStoppedError("informer stopped"));
  }

  /** True once the first list has been stored and delivered. */
  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const waiter = { resolve, reject };
      this.#syncWaiters.push(waiter);
      signal?.addEventListener(
        "abort",
        () => {
          this.#syncWaiters = this.#syncWaiters.filter((w) => w !== waiter);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  list(): T[] {
    return [...this.#store.values()];
  }

  /** By key: `namespace/name`, or `name` for cluster-scoped objects. */
  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  /**
   * Indexes the cached objects by the values `values` returns, from now on and for the objects
   * already cached. The same function under the same name may be added again (a no-op).
   */
  addIndexer(name: string, values: IndexFunction<T>): void {
    this.#store.addIndexer(name, values);
  }

  /** The cached objects indexed under `value`, e.g. `byIndex(NAMESPACE_INDEX, ns)`. */
  byIndex(name: string, value: string): T[] {
    return this.#store.byIndex(name, value);
  }

  /** The keys of the cached objects indexed under `value`. */
  indexKeys(name: string, value: string): string[] {
    return this.#store.indexKeys(name, value);
  }

  /** How many cached objects are indexed under `value`. */
  indexCount(name: string, value: string): number {
    return this.#store.indexCount(name, value);
  }

  get stats(): Readonly<InformerStats> {
    return { ...this.#stats };
  }

  /**
   * Registers a handler and returns its unsubscribe function. An `add` handler registered after
   * the informer synced first receives every cached object.
   */
  on<E extends keyof InformerEvents<T>>(event: E, handler: InformerEvents<T>[E]): () => void {
    const set = this.#handlers[event] as Set<InformerEvents<T>[E]>;
    set.add(handler);
    if (event === "add" && this.#synced) {
      for (const obj of this.#store.values()) this.#call("add", handler as InformerEvents<T>["add"], obj, obj);
    }
    return () => set.delete(handler);
  }

  async #run(scope: Scope, signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#relist(scope, signal);
          needList = false;
        }
        await this.#watch(scope, signal);
      } catch (error) {
        if (signal.aborted) break;
        this.#stats.watchErrors++;
        if (isGone(error)) {
          needList = true;
          this.#stats.goneRelists++;
          scope.log.info(
            { ...errorFields(error), resourceVersion: scope.resourceVersion },
            "relisting: resource version expired",
          );
        } else if (error instanceof WatchSilenceError) {
          this.#stats.silentWatches++;
          scope.log.warn({ resourceVersion: scope.resourceVersion }, "watch went silent, resuming");
        } else {
          scope.log.warn(
            { ...errorFields(error), resourceVersion: scope.resourceVersion },
            "list/watch failed, retrying",
          );
        }
        await sleep(scope.backoff.next(), signal);
      }
    }
  }

  async #relist(scope: Scope, signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let continueToken: string | undefined;
    do {
      const page = await this.#client.get<ObjectList<T>>(scope.path, {
        ...(this.#options.metadataOnly && { accept: METADATA_LIST }),
        query: {
          labelSelector: this.#options.labelSelector,
          fieldSelector: this.#options.fieldSelector,
          limit: this.#options.pageSize ?? 500,
          continue: continueToken,
        },
        signal,
        timeoutMs: 60_000,
      });
      // List items carry no apiVersion/kind; handlers (owner references, events) want them.
      const kind = page?.kind?.replace(/List$/, "");
      for (const item of page?.items ?? [])
        items.push(this.#transform(withoutManagedFields({ apiVersion: page?.apiVersion, kind, ...item })));
      resourceVersion = page?.metadata?.resourceVersion;
      continueToken = page?.metadata?.continue || undefined;
    } while (continueToken);
    if (signal.aborted) return;

    const diff = diffSnapshot(this.#cachedIn(scope), items);
    for (const obj of diff.deleted) this.#store.delete(objectKey(obj));
    for (const obj of diff.added) this.#store.set(objectKey(obj), obj);
    for (const { newObj } of diff.updated) this.#store.set(objectKey(newObj), newObj);
    this.#stats.lists++;
    scope.resourceVersion = resourceVersion;
    this.#stats.resourceVersion = resourceVersion;
    scope.log.debug(
      {
        resourceVersion,
        count: items.length,
        added: diff.added.length,
        updated: diff.updated.length,
        deleted: diff.deleted.length,
      },
      "listed",
    );
    for (const obj of diff.deleted) this.#emit("delete", obj);
    for (const obj of diff.added) this.#emit("add", obj);
    for (const { oldObj, newObj } of diff.updated) this.#emit("update", oldObj, newObj);
    scope.synced = true;
    if (!this.#synced && this.#scopes.every((s) => s.synced)) {
      this.#synced = true;
      for (const waiter of this.#syncWaiters.splice(0)) waiter.resolve();
    }
  }

  /** One watch request; resolves when the server ends it normally, rejects otherwise. */
  async #watch(scope: Scope, parent: AbortSignal): Promise<void> {
    const silence = new AbortController();
    const signal = AbortSignal.any([parent, silence.signal]);
    const ms = this.#silenceTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    // refresh() restarts the same timer: cheaper than a new one per event on a busy watch.
    const arm = () => {
      if (timer) timer.refresh();
      else timer = setTimeout(() => silence.abort(new WatchSilenceError(ms)), ms);
    };
    const timeoutSeconds = this.#options.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
    const started = Date.now();
    let events = 0;
    this.#stats.watches++;
    arm();
    try {
      const res = await this.#client.watch(
        scope.path,
        {
          resourceVersion: scope.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.#options.labelSelector,
          fieldSelector: this.#options.fieldSelector,
        },
        signal,
        this.#options.metadataOnly ? METADATA_OBJECT : undefined,
      );
      await readLines(res, (line) => {
        arm();
        events++;
        this.#handleEvent(scope, JSON.parse(line) as WatchEvent);
        // A stream that delivers events is healthy again.
        if (events === 1) scope.backoff.reset();
      });
    } catch (error) {
      if (silence.signal.aborted) throw silence.signal.reason;
      if (error instanceof KubeApiError || error instanceof SyntaxError) throw error;
      throw toKubeApiError(error, { verb: "WATCH", path: scope.path });
    } finally {
      clearTimeout(timer);
      silence.abort();
    }
    if (events === 0 && Date.now() - started < SHORT_WATCH_MS && !parent.aborted) {
      throw new ShortWatchError("the server closed the watch at once without sending anything");
    }
    scope.backoff.reset();
    scope.log.debug({ events, resourceVersion: scope.resourceVersion }, "watch ended, resuming");
  }

  #handleEvent(scope: Scope, event: WatchEvent): void {
    if (event.type === "ERROR") throw errorFromWatchStatus(event.object, { verb: "WATCH", path: scope.path });
    if (event.type === "BOOKMARK") {
      const resourceVersion = event.object?.metadata?.resourceVersion;
      if (resourceVersion) this.#seen(scope, resourceVersion);
      return;
    }
    const obj = this.#transform(withoutManagedFields(event.object as T));
    const resourceVersion = obj?.metadata?.resourceVersion;
    const key = objectKey(obj);
    const old = this.#store.get(key);
    switch (event.type) {
      case "ADDED":
      case "MODIFIED":
        this.#store.set(key, obj);
        if (!old) this.#emit("add", obj);
        else if (old.metadata?.resourceVersion !== resourceVersion) this.#emit("update", old, obj);
        break;
      case "DELETED":
        if (this.#store.delete(key)) this.#emit("delete", obj);
        break;
      default:
        scope.log.warn({ type: event.type, ...objectFields(obj) }, "unknown watch event type");
    }
    if (resourceVersion) this.#seen(scope, resourceVersion);
  }

  #seen(scope: Scope, resourceVersion: string): void {
    scope.resourceVersion = resourceVersion;
    this.#stats.resourceVersion = resourceVersion;
  }

  /** The cached objects a scope lists: all of them, or those of its namespace. */
  #cachedIn(scope: Scope): ReadonlyMap<string, T> {
    if (scope.namespace === undefined) return this.#store.items;
    return new Map(this.#store.byIndex(NAMESPACE_INDEX, scope.namespace).map((obj) => [objectKey(obj), obj]));
  }

  #transform(obj: T): T {
    return this.#options.transform ? this.#options.transform(obj) : obj;
  }

  #resync(): void {
    if (!this.#synced || this.#abort?.signal.aborted) return;
    this.#stats.resyncs++;
    for (const obj of this.#store.values()) this.#emit("update", obj, obj);
  }

  #emit<E extends keyof InformerEvents<T>>(event: E, obj: T, newObj?: T): void {
    for (const handler of this.#handlers[event]) this.#call(event, handler as InformerEvents<T>[E], obj, newObj ?? obj);
  }

  #call<E extends keyof InformerEvents<T>>(event: E, handler: InformerEvents<T>[E], obj: T, newObj: T): void {
    try {
      if (event === "update") (handler as InformerEvents<T>["update"])(obj, newObj);
      else (handler as InformerEvents<T>["add"])(obj);
    } catch (error) {
      this.#log.error({ err: error, event, ...objectFields(newObj) }, "event handler threw");
    }
  }
}

/** Calls `onLine` for each newline-terminated line; resolves at the end of the stream. */
function readLines(res: http.IncomingMessage, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      res.destroy();
      reject(error);
    };
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0 && !settled) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        try {
          if (line) onLine(line);
        } catch (error) {
          fail(error);
        }
        newline = buffer.indexOf("\n");
      }
    });
    res.on("end", () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    res.on("error", fail);
    res.on("close", () => fail(new Error("watch connection closed before the stream ended")));
  });
}

/**
 * Drops metadata.managedFields, as client-go's SetTransform is commonly used to: nothing reads them
 * from a cache (server-side apply tracks them on the server), and they are often the largest part
 * of an object.
 */
function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj?.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}
