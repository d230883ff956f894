/**
 * Status writes for Delegations: a JSON merge patch on /status that carries
 * `metadata.resourceVersion`, so a writer with a stale view gets 409 Conflict. On a conflict the
 * object is read again; the write is retried only if `isStillMine(fresh)`.
 * Writes for one object are serialized; at most `maxConcurrent` run at once overall, and best-effort
 * writes wait behind all others (a deep queue's Queued reports must not hold up completions).
 */
import type { Delegation, DelegationStatus } from "../api/delegation.ts";
import type { KubeClient } from "../runtime/client.ts";
import { isConflict, isNotFound } from "../runtime/errors.ts";
import { keyOf } from "../runtime/store.ts";
import { delegationPath } from "./delegation-object.ts";
import { WriteLimiter } from "./write-limiter.ts";

export interface CommitOptions {
  signal?: AbortSignal;
  /** The Delegation's spec.priority: waiting writes go highest first (then in arrival order). */
  priority?: number;
  /**
   * Marks a best-effort write (the dispatcher's Queued report): it waits behind every other write,
   * and is dropped (commit rejects with BestEffortWriteDroppedError) when this signal aborts while it
   * waits, or at once when too many are waiting already.
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
  readonly #limiter: WriteLimiter;
  readonly #maxConflicts: number;
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(client: KubeClient, options: KubeStatusWriterOptions = {}) {
    this.#client = client;
    this.#limiter = new WriteLimiter(
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
    const uid =
      known.metadata.uid ?? keyOf({ namespace: known.metadata.namespace ?? "", name: known.metadata.name ?? "" });
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
