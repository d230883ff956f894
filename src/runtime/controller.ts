/**
 * A controller in the controller-runtime mould: informer events (the primary kind, kinds it owns,
 * other watched kinds) become `namespace/name` requests in a workqueue, and N workers call
 * `reconcile` for each. A thrown error is logged and retried with per-key backoff; success forgets
 * the backoff and honours `requeueAfter`.
 *
 * The controller does not start or stop informers (they may be shared): whoever creates them
 * starts them; `start()` waits until they have synced.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Informer } from "./informer.ts";
import { defaultLogger, type Logger } from "./log.ts";
import {
  type ControllerLabels,
  type ControllerMetrics,
  noopControllerMetrics,
  type ReconcileOutcome,
} from "./metrics.ts";
import type { RateLimiter } from "./ratelimiter.ts";
import { parseApiVersion } from "./resource.ts";
import { keyOf, type ObjectKey, objectFields, parseKey } from "./store.ts";
import { runWorkers, WorkQueue } from "./workqueue.ts";

/** The object to reconcile; namespace is "" for cluster-scoped kinds. */
export type Request = ObjectKey;

export interface ReconcileResult {
  /** Reconcile again after this many milliseconds. */
  requeueAfter?: number;
}

export interface ReconcileContext {
  /** Aborted when the controller stops and its grace period is over. */
  signal: AbortSignal;
  /** Carries controller, kind, namespace and name. */
  logger: Logger;
  /** How many times this request failed in a row before this attempt. */
  retries: number;
}

// biome-ignore lint/suspicious/noConfusingVoidType: a reconciler that returns nothing is the common case
export type Reconciler = (request: Request, context: ReconcileContext) => Promise<ReconcileResult | undefined | void>;

/** Objects of another kind whose controller owner reference points at the primary kind. */
export interface OwnedSource {
  informer: Informer<KubernetesObject>;
}

/** Objects of another kind mapped to primary requests by a function. */
export interface WatchedSource<T extends KubernetesObject = KubernetesObject> {
  informer: Informer<T>;
  map: (obj: T) => Request[];
}

export interface ControllerOptions<P extends KubernetesObject> {
  /** Names the controller in logs and metrics, e.g. "agent". */
  name: string;
  /** The primary kind: `apiVersion` and `kind` owner references of owned objects must match. */
  forKind: { apiVersion: string; kind: string };
  primary: Informer<P>;
  owns?: OwnedSource[];
  // biome-ignore lint/suspicious/noExplicitAny: sources of different kinds share one list
  watches?: WatchedSource<any>[];
  reconcile: Reconciler;
  /** Requests reconciled at once (never the same one twice). Default 1. */
  concurrency?: number;
  rateLimiter?: RateLimiter<string>;
  metrics?: ControllerMetrics;
  logger?: Logger;
  /** start() rejects if the informers have not synced by then. Default 120 s. */
  syncTimeoutMs?: number;
}

export interface StopOptions {
  /** How long in-flight reconciles may run before their signal aborts. Default 30 s. */
  graceMs?: number;
}

/** The informers did not sync in time. */
export class CacheSyncTimeoutError extends Error {
  override readonly name = "CacheSyncTimeoutError";
}

export class ControllerStateError extends Error {
  override readonly name = "ControllerStateError";
}

/** The primary requests for an object: its controller owner reference, if of the given kind. */
export function ownerRequests(obj: KubernetesObject, owner: { apiVersion: string; kind: string }): Request[] {
  const group = parseApiVersion(owner.apiVersion).group;
  const ref = obj.metadata?.ownerReferences?.find(
    (r) => r.controller === true && r.kind === owner.kind && parseApiVersion(r.apiVersion).group === group,
  );
  return ref ? [{ namespace: obj.metadata?.namespace ?? "", name: ref.name }] : [];
}

export class Controller<P extends KubernetesObject = KubernetesObject> {
  readonly name: string;
  readonly #options: ControllerOptions<P>;
  readonly #labels: ControllerLabels;
  readonly #metrics: ControllerMetrics;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #queue: WorkQueue<string> | undefined;
  #workers: Promise<void> | undefined;
  #unsubscribe: (() => void)[] = [];
  #active = 0;
  #state: "new" | "starting" | "running" | "stopped" = "new";

  constructor(options: ControllerOptions<P>) {
    this.name = options.name;
    this.#options = options;
    this.#labels = { controller: options.name, kind: options.forKind.kind };
    this.#metrics = options.metrics ?? noopControllerMetrics;
    this.#log = (options.logger ?? defaultLogger).child({ controller: options.name, kind: options.forKind.kind });
  }

  /** Subscribes to the informers, waits for them to sync, then starts the workers. */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new ControllerStateError(`controller ${this.name} was already started`);
    this.#state = "starting";
    const labels = this.#labels;
    const queue = new WorkQueue<string>({
      rateLimiter: this.#options.rateLimiter,
      metrics: {
        depth: (depth) => this.#metrics.queueDepth(labels, depth),
        retried: () => this.#metrics.queueRetried(labels),
        queueLatency: (seconds) => this.#metrics.queueLatency(labels, seconds),
      },
    });
    this.#queue = queue;
    this.#subscribe();

    const { primary, owns = [], watches = [] } = this.#options;
    const informers = [primary, ...owns.map((s) => s.informer), ...watches.map((s) => s.informer)];
    const timeoutMs = this.#options.syncTimeoutMs ?? 120_000;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(Math.ceil(timeoutMs))]);
    try {
      await Promise.all(informers.map((i) => i.waitForSync(signal)));
    } catch (error) {
      if (this.#stopped()) return; // stop() during start()
      await this.stop();
      if (signal.reason instanceof DOMException && signal.reason.name === "TimeoutError") {
        throw new CacheSyncTimeoutError(`controller ${this.name}: informers did not sync within ${timeoutMs} ms`);
      }
      throw error;
    }
    if (this.#stopped()) return;
    this.#state = "running";
    this.#workers = runWorkers(queue, {
      concurrency: this.#options.concurrency ?? 1,
      process: (key) => this.#reconcileKey(key),
    });
    this.#log.info({ concurrency: this.#options.concurrency ?? 1 }, "controller started");
  }

  /** Stops taking requests and waits for in-flight reconciles (aborting their signal after graceMs). */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    const drained = this.#queue?.shutDown({ drain: true }) ?? Promise.resolve();
    const grace = setTimeout(() => this.#abort.abort(), options.graceMs ?? 30_000);
    try {
      await drained;
      await this.#workers;
    } finally {
      clearTimeout(grace);
      this.#abort.abort();
    }
    this.#log.info("controller stopped");
  }

  #stopped(): boolean {
    return this.#state === "stopped";
  }

  /** Queues a request (deduplicated with pending ones). */
  enqueue(request: Request): void {
    this.#queue?.add(keyOf(request));
  }

  /** Requests waiting in the queue. */
  queueLength(): number {
    return this.#queue?.len() ?? 0;
  }

  #subscribe(): void {
    const { primary, owns = [], watches = [], forKind } = this.#options;
    this.#listen(primary, (obj) => [objectKeyRequest(obj)]);
    for (const { informer } of owns) this.#listen(informer, (obj) => ownerRequests(obj, forKind));
    for (const { informer, map } of watches) this.#listen(informer, map);
  }

  /** Enqueues the requests `map` yields for added and deleted objects, and for both sides of an update. */
  #listen<T extends KubernetesObject>(informer: Informer<T>, map: (obj: T) => Request[]): void {
    const enqueue = (obj: T) => {
      try {
        for (const request of map(obj)) this.enqueue(request);
      } catch (error) {
        this.#log.error({ err: error, ...objectFields(obj) }, "mapping an event to requests failed");
      }
    };
    this.#unsubscribe.push(
      informer.on("add", enqueue),
      informer.on("update", (oldObj, newObj) => {
        if (oldObj !== newObj) enqueue(oldObj);
        enqueue(newObj);
      }),
      informer.on("delete", enqueue),
    );
  }

  async #reconcileKey(key: string): Promise<void> {
    const queue = this.#queue!;
    const request = parseKey(key);
    // Made on first use: a pino child with redaction is not free, and most reconciles log nothing.
    let child: Logger | undefined;
    const childLogger = () => {
      child ??= this.#log.child(objectFields(request));
      return child;
    };
    const retries = queue.numRequeues(key);
    const started = performance.now();
    let outcome: ReconcileOutcome;
    this.#metrics.activeWorkers(this.#labels, ++this.#active);
    try {
      const context: ReconcileContext = {
        signal: this.#abort.signal,
        retries,
        get logger() {
          return childLogger();
        },
      };
      const result = await this.#options.reconcile(request, context);
      queue.forget(key);
      const requeueAfter = result?.requeueAfter ?? 0;
      if (requeueAfter > 0) {
        queue.addAfter(key, requeueAfter);
        outcome = "requeue_after";
      } else {
        outcome = "success";
      }
      if (this.#log.isLevelEnabled("debug")) {
        childLogger().debug({ durationMs: Math.round(performance.now() - started), requeueAfter }, "reconciled");
      }
    } catch (error) {
      outcome = "error";
      childLogger().error({ err: error, retries }, "reconcile failed, retrying with backoff");
      queue.addRateLimited(key);
    } finally {
      this.#metrics.activeWorkers(this.#labels, --this.#active);
    }
    this.#metrics.reconcileCompleted(this.#labels, outcome, (performance.now() - started) / 1000);
  }
}

function objectKeyRequest(obj: KubernetesObject): Request {
  return { namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}
