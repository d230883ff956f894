/**
 * Status writes for Delegations: a JSON merge patch on /status that carries
 * `metadata.resourceVersion`, so a writer with a stale view gets 409 Conflict. On a conflict the
 * object is read again; the write is retried only if `isStillMine(fresh)` (design §3.5).
 * Writes for one object are serialized; at most `maxConcurrent` run at once overall, and best-effort
 * writes wait behind all others (a deep queue's Queued reports must not hold up completions).
 */
import type { Delegation, DelegationStatus } from "../api/delegation.ts";
import type { KubeClient } from "../runtime/client.ts";
import { isConflict, isNotFound } from "../runtime/errors.ts";
import { delegationPath } from "./common.ts";

export interface CommitOptions {
  signal?: AbortSignal;
  /** The Delegation's spec.priority: waiting writes go highest first (then in arrival order). */
  priority?: number;
  /**
   * Marks a best-effort write (the dispatcher's Queued report): it waits behind every other write,
   * and is dropped (commit rejects with BestEffortWriteDroppedError) when this signal aborts while
   * it waits, or at once when too many are waiting already.
   */
  bestEffort?: AbortSignal;
}

export interface StatusWriter {
  /**
   * Writes `next` as the whole status of `known` (fields `known` has and `next` lacks are removed).
   * Resolves with the stored object, or undefined when the write was dropped: the object is gone, or
   * it changed and is no longer ours.
   */
  commit(
    known: Delegation,
    next: DelegationStatus,
    isStillMine: (fresh: Delegation) => boolean,
    options?: CommitOptions,
  ): Promise<Delegation | undefined>;
}

/** A best-effort write was not sent: a later write carries the status, or too many were waiting. */
export class BestEffortWriteDroppedError extends Error {
  override readonly name = "BestEffortWriteDroppedError";
}

/** The merge patch that turns `previous` into `next`: removed keys become null. */
export function statusPatch(
  resourceVersion: string | undefined,
  previous: DelegationStatus | undefined,
  next: DelegationStatus,
): Record<string, unknown> {
  const status: Record<string, unknown> = { ...next };
  for (const key of Object.keys(previous ?? {})) {
    if (!(key in next) || (next as Record<string, unknown>)[key] === undefined) status[key] = null;
  }
  for (const [key, value] of Object.entries(status)) if (value === undefined) delete status[key];
  return { metadata: { resourceVersion }, status };
}

/**
 * A counting semaphore. Waiters go by priority, highest first. Low-priority holders (best-effort
 * writes) go after every other waiter, hold at most `lowLimit` of the slots, and can be dropped
 * while they wait.
 */
class Limiter {
  #free: number;
  #lowFree: number;
  readonly #maxWaitingLow: number;
  /** Highest priority first; arrival order among equals. */
  readonly #waiting: { priority: number; start: () => void }[] = [];
  /** In arrival order; a Set, so that a dropped waiter leaves in O(1). */
  readonly #waitingLow = new Set<() => void>();

  constructor(limit: number, lowLimit: number, maxWaitingLow: number) {
    this.#free = limit;
    this.#lowFree = lowLimit;
    this.#maxWaitingLow = maxWaitingLow;
  }

  async run<T>(fn: () => Promise<T>, low?: AbortSignal, priority = 0): Promise<T> {
    if (low) await this.#acquireLow(low);
    else if (this.#free > 0) this.#free--;
    else await new Promise<void>((start) => this.#wait(priority, start));
    try {
      return await fn();
    } finally {
      if (low) this.#lowFree++;
      this.#release();
    }
  }

  #acquireLow(signal: AbortSignal): Promise<void> | undefined {
    if (signal.aborted) throw new BestEffortWriteDroppedError("superseded before it was sent");
    if (this.#free > 0 && this.#lowFree > 0) {
      this.#free--;
      this.#lowFree--;
      return undefined;
    }
    // Like client-go's event broadcaster: a full queue of best-effort writes drops the newest.
    if (this.#waitingLow.size >= this.#maxWaitingLow) {
      throw new BestEffortWriteDroppedError(`${this.#maxWaitingLow} best-effort writes are waiting already`);
    }
    return new Promise<void>((resolve, reject) => {
      const start = () => {
        signal.removeEventListener("abort", drop);
        resolve();
      };
      const drop = () => {
        this.#waitingLow.delete(start);
        reject(new BestEffortWriteDroppedError("superseded before it was sent"));
      };
      this.#waitingLow.add(start);
      signal.addEventListener("abort", drop, { once: true });
    });
  }

  #wait(priority: number, start: () => void): void {
    let lo = 0;
    let hi = this.#waiting.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#waiting[mid]!.priority >= priority) lo = mid + 1;
      else hi = mid;
    }
    this.#waiting.splice(lo, 0, { priority, start });
  }

  /** Hands a freed slot to the next waiter: any other write first, then a best-effort one. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) {
      next.start();
      return;
    }
    if (this.#lowFree > 0) {
      for (const start of this.#waitingLow) {
        this.#waitingLow.delete(start);
        this.#lowFree--;
        start();
        return;
      }
    }
    this.#free++;
  }
}

export interface KubeStatusWriterOptions {
  /** Writes in flight at once. Default 8. */
  maxConcurrent?: number;
  /** Of those, best-effort writes. Default 2. */
  maxConcurrentBestEffort?: number;
  /** Best-effort writes that may wait for a slot; more are dropped. Default 256. */
  maxWaitingBestEffort?: number;
  /** Conflicts retried in a row before giving up (the error is thrown). Default 5. */
  maxConflicts?: number;
}

export class KubeStatusWriter implements StatusWriter {
  readonly #client: KubeClient;
  readonly #limiter: Limiter;
  readonly #maxConflicts: number;
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(client: KubeClient, options: KubeStatusWriterOptions = {}) {
    this.#client = client;
    this.#limiter = new Limiter(
      options.maxConcurrent ?? 8,
      options.maxConcurrentBestEffort ?? 2,
      options.maxWaitingBestEffort ?? 256,
    );
    this.#maxConflicts = options.maxConflicts ?? 5;
  }

  commit(
    known: Delegation,
    next: DelegationStatus,
    isStillMine: (fresh: Delegation) => boolean,
    options: CommitOptions = {},
  ): Promise<Delegation | undefined> {
    const uid = known.metadata.uid ?? `${known.metadata.namespace}/${known.metadata.name}`;
    const previous = this.#chains.get(uid) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.#write(known, next, isStillMine, options));
    const settled = run.catch(() => undefined);
    this.#chains.set(uid, settled);
    void settled.then(() => {
      if (this.#chains.get(uid) === settled) this.#chains.delete(uid);
    });
    return run;
  }

  async #write(
    known: Delegation,
    next: DelegationStatus,
    isStillMine: (fresh: Delegation) => boolean,
    { signal, bestEffort, priority }: CommitOptions,
  ): Promise<Delegation | undefined> {
    const ns = known.metadata.namespace!;
    const name = known.metadata.name!;
    const path = delegationPath(ns, name, "status");
    let base = known;
    for (let conflicts = 0; ; conflicts++) {
      try {
        const stored = await this.#limiter.run(
          () =>
            this.#client.request<Delegation>("PATCH", path, {
              body: statusPatch(base.metadata.resourceVersion, base.status, next),
              contentType: "application/merge-patch+json",
              ...(signal && { signal }),
            }),
          bestEffort,
          priority,
        );
        // Kept by the dispatcher while the task lives; nothing here reads managedFields.
        delete (stored.metadata as { managedFields?: unknown }).managedFields;
        return stored;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        if (!isConflict(error) || conflicts >= this.#maxConflicts) throw error;
      }
      let fresh: Delegation;
      try {
        fresh = await this.#limiter.run(
          () => this.#client.get<Delegation>(delegationPath(ns, name), { ...(signal && { signal }) }),
          bestEffort,
          priority,
        );
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
      if (fresh.metadata.uid !== known.metadata.uid || !isStillMine(fresh)) return undefined;
      base = fresh;
    }
  }
}
