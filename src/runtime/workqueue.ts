/**
 * A work queue with client-go semantics:
 *
 * - a key added while queued is queued once (dedup);
 * - a key added while being processed is queued again only after `done(key)`: one key is never
 *   processed by two workers at once;
 * - `addAfter` delays an add (the earliest pending time wins), `addRateLimited` delays it by the
 *   rate limiter's per-key backoff, `forget` resets that backoff; delayed keys wait in a
 *   TimerHeap (thousands of day-long TTL requeues cost a heap entry each, not a Node timer each);
 * - `shutDown` stops accepting adds and handing out keys; with `drain` it resolves once every key
 *   being processed is done.
 */
import { defaultControllerRateLimiter, type RateLimiter } from "./ratelimiter.ts";
import { type TimerEntry, TimerHeap } from "./timer-heap.ts";

/** Optional hooks for workqueue metrics (depth, adds, retries, latencies in seconds). */
export interface WorkQueueMetrics {
  depth?(depth: number): void;
  added?(): void;
  retried?(): void;
  /** Time a key waited in the queue before a worker took it. */
  queueLatency?(seconds: number): void;
  /** Time between get() and done() of a key. */
  workDuration?(seconds: number): void;
}

export interface WorkQueueOptions<K> {
  rateLimiter?: RateLimiter<K>;
  metrics?: WorkQueueMetrics;
}

export interface ShutDownOptions {
  /** Wait for the keys being processed to be done. Default true. */
  drain?: boolean;
}

export class WorkQueue<K = string> {
  readonly #rateLimiter: RateLimiter<K>;
  readonly #metrics: WorkQueueMetrics;
  /** Keys ready to be handed out, in order. */
  #queue: K[] = [];
  /** Keys that need processing (queued, or re-added while processing). */
  readonly #dirty = new Set<K>();
  /** Keys handed out and not yet done, with the time they were taken. */
  readonly #processing = new Map<K, number>();
  /** When each queued key was added, for the latency metric. */
  readonly #addedAt = new Map<K, number>();
  /** Delayed keys and their timers (the earliest pending one per key). */
  readonly #waiting = new Map<K, TimerEntry>();
  readonly #timers = new TimerHeap();
  #getters: ((key: K | undefined) => void)[] = [];
  #shuttingDown = false;
  #drained: (() => void) | undefined;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.#rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<K>();
    this.#metrics = options.metrics ?? {};
  }

  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#metrics.added?.();
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // re-queued by done()
    this.#push(key);
  }

  /** Adds `key` after `ms`; an earlier pending addAfter of the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const pending = this.#waiting.get(key);
    if (pending && pending.at <= Date.now() + ms) return;
    this.#timers.cancel(pending);
    this.#waiting.set(
      key,
      this.#timers.schedule(ms, () => {
        this.#waiting.delete(key);
        this.add(key);
      }),
    );
  }

  /** Adds `key` after the rate limiter's backoff for it (which grows with each call). */
  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    this.#metrics.retried?.();
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Resets the backoff of `key` (call it after a success). */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /** Keys ready to be processed (not those being processed or waiting for addAfter). */
  len(): number {
    return this.#queue.length;
  }

  /** Number of keys being processed. */
  processing(): number {
    return this.#processing.size;
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The next key to process, waiting until there is one; undefined once the queue is shut down.
   * Call done(key) when finished with it.
   */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks `key` as processed; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    const takenAt = this.#processing.get(key);
    if (takenAt === undefined) return;
    this.#processing.delete(key);
    this.#metrics.workDuration?.((Date.now() - takenAt) / 1000);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
    if (this.#shuttingDown && this.#processing.size === 0) this.#drained?.();
  }

  /** Stops accepting and handing out keys; with drain (default) resolves when processing is done. */
  shutDown(options: ShutDownOptions = {}): Promise<void> {
    this.#shuttingDown = true;
    this.#timers.clear();
    this.#waiting.clear();
    this.#queue = [];
    this.#dirty.clear();
    this.#addedAt.clear();
    this.#metrics.depth?.(0);
    for (const getter of this.#getters.splice(0)) getter(undefined);
    if (options.drain === false || this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#drained;
      this.#drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  #push(key: K): void {
    const getter = this.#getters.shift();
    this.#queue.push(key);
    this.#addedAt.set(key, Date.now());
    if (getter) getter(this.#take());
    else this.#metrics.depth?.(this.#queue.length);
  }

  #take(): K | undefined {
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    const now = Date.now();
    this.#metrics.depth?.(this.#queue.length);
    this.#metrics.queueLatency?.((now - (this.#addedAt.get(key) ?? now)) / 1000);
    this.#addedAt.delete(key);
    this.#dirty.delete(key);
    this.#processing.set(key, now);
    return key;
  }
}

export interface WorkerOptions<K> {
  /** Number of keys processed at once. Default 1. */
  concurrency?: number;
  process: (key: K) => Promise<void>;
  /** Called when `process` throws (it should not: handle errors and requeue inside it). */
  onError?: (key: K, error: unknown) => void;
}

/** Runs `concurrency` workers that take keys until the queue shuts down; resolves when all exited. */
export async function runWorkers<K>(queue: WorkQueue<K>, options: WorkerOptions<K>): Promise<void> {
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await options.process(key);
      } catch (error) {
        options.onError?.(key, error);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
}
