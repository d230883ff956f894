/**
 * A watch on one resource in one namespace that timestamps every event as it arrives, so that a
 * benchmark can ask "when did object X first satisfy P?" without polling.
 *
 *   const agents = new TimedWatch<Agent>(kc, "/apis/clawcrew.io/v1alpha1/namespaces/bench/agents", "agent");
 *   await agents.start();
 *   const ready = agents.when("a-000", isReady, { timeoutMs, signal }); // register before acting
 *   const t0 = performance.now();
 *   await create(...);
 *   const latencyMs = (await ready) - t0;
 *
 * Times are performance.now() of the moment the event was read off the stream. Register a waiter
 * before the action that should make the predicate true: an event that already went by is only
 * seen through the latest cached state of the object (with the time that state arrived).
 */
import { type KubeConfig, type KubernetesObject, Watch } from "@kubernetes/client-node";

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** For the error message, e.g. "Agent a-003 Ready". */
  what?: string;
}

interface Waiter<T> {
  name: string;
  predicate: (obj: T) => boolean;
  resolve: (at: number) => void;
  reject: (error: unknown) => void;
}

interface Seen<T> {
  obj: T;
  at: number;
}

export class TimedWatch<T extends KubernetesObject> {
  readonly #watch: Watch;
  readonly #path: string;
  readonly #kind: string;
  readonly #log: (message: string) => void;
  readonly #objects = new Map<string, Seen<T>>();
  readonly #waiters = new Set<Waiter<T>>();
  readonly #listeners = new Set<(type: string, obj: T, at: number) => void>();
  #resourceVersion: string | undefined;
  #controller: AbortController | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #starting = false;
  #lastError: unknown;
  /** Watch connections opened (1 + restarts). */
  connections = 0;
  events = 0;

  constructor(kc: KubeConfig, path: string, kind: string, log: (message: string) => void = () => {}) {
    this.#watch = new Watch(kc);
    this.#path = path;
    this.#kind = kind;
    this.#log = log;
  }

  /**
   * Opens the watch; resolves once the API server accepted it (events after this are seen). Retries
   * for up to `timeoutMs`: right after a CRD is established its watch cache answers 429 for a while.
   */
  async start(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      this.#starting = true;
      await this.#open();
      this.#starting = false;
      if (!this.#controller?.signal.aborted) return;
      if (performance.now() > deadline) {
        this.stop();
        throw new Error(`could not open a watch on ${this.#path}: ${String(this.#lastError)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#controller?.abort();
    for (const waiter of this.#waiters) waiter.reject(new Error(`watch of ${this.#kind} stopped`));
    this.#waiters.clear();
  }

  /** Calls `listener` for every ADDED, MODIFIED and DELETED event; returns how to unsubscribe. */
  on(listener: (type: string, obj: T, at: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The latest state of an object (undefined if not seen or deleted). */
  get(name: string): T | undefined {
    return this.#objects.get(name)?.obj;
  }

  /** Resolves with the arrival time of the first event after which `predicate(obj)` holds. */
  when(name: string, predicate: (obj: T) => boolean, options: WaitOptions): Promise<number> {
    const seen = this.#objects.get(name);
    if (seen && predicate(seen.obj)) return Promise.resolve(seen.at);
    return new Promise<number>((resolve, reject) => {
      const what = options.what ?? `${this.#kind} ${name}`;
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter<T> = {
        name,
        predicate,
        resolve: (at) => {
          cleanup();
          resolve(at);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const onAbort = () => waiter.reject(options.signal?.reason ?? new Error("aborted"));
      const timer = setTimeout(() => {
        const last = this.#objects.get(name)?.obj;
        waiter.reject(
          new Error(
            `timed out after ${options.timeoutMs} ms waiting for ${what}; last seen: ${last ? JSON.stringify(summary(last)) : "never"}`,
          ),
        );
      }, options.timeoutMs);
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    this.connections++;
    const query = {
      allowWatchBookmarks: true,
      ...(this.#resourceVersion !== undefined && { resourceVersion: this.#resourceVersion }),
    };
    this.#controller = await this.#watch.watch(
      this.#path,
      query,
      (type: string, obj: T) => this.#onEvent(type, obj),
      (error: unknown) => this.#onDone(error),
    );
  }

  #onEvent(type: string, obj: T): void {
    const at = performance.now();
    this.events++;
    if (type === "ERROR") {
      // Most likely 410 Gone: resume from "now"; the restart lists current state as ADDED events.
      this.#log(`watch of ${this.#kind}: ${JSON.stringify(obj)}; restarting without resourceVersion`);
      this.#resourceVersion = undefined;
      return;
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    if (type === "BOOKMARK") return;
    const name = obj.metadata?.name;
    if (!name) return;
    for (const listener of this.#listeners) listener(type, obj, at);
    if (type === "DELETED") {
      this.#objects.delete(name);
      return;
    }
    this.#objects.set(name, { obj, at });
    for (const waiter of this.#waiters) {
      if (waiter.name !== name) continue;
      let ok = false;
      try {
        ok = waiter.predicate(obj);
      } catch (error) {
        waiter.reject(error);
        continue;
      }
      if (ok) waiter.resolve(at);
    }
  }

  #onDone(error: unknown): void {
    this.#lastError = error;
    if (this.#stopped || this.#starting) return; // start() retries by itself
    // client-node ends a watch that is silent for 30 s, and the server ends watches now and then.
    if (error) this.#log(`watch of ${this.#kind} ended (${String(error)}); reopening`);
    this.#restartTimer = setTimeout(() => {
      this.#open().catch((e: unknown) => this.#onDone(e));
    }, 100);
  }
}

function summary(obj: KubernetesObject): unknown {
  const o = obj as KubernetesObject & { status?: unknown };
  return { generation: o.metadata?.generation, resourceVersion: o.metadata?.resourceVersion, status: o.status };
}
