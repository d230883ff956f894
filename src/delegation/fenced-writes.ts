/**
 * The status writes of one task, fenced by attempt id: each write is based on the last object the
 * API returned to this process, and goes through only while the object's last attempt is one this
 * process claimed or wrote. Another leader's write makes ours lose (409, then the fence says no),
 * so a terminal phase is written once. Writes of one task go out in order, one at a time.
 */
import type { Delegation, DelegationStatus } from "../api/delegation.ts";
import { errorFields, type Logger } from "../runtime/log.ts";
import type { Clock } from "./clock.ts";
import { isTerminal, lastAttemptId } from "./delegation-object.ts";
import type { StatusWriter } from "./status-writer.ts";
import { BestEffortWriteDroppedError } from "./write-limiter.ts";

/**
 * queued: a best-effort report; progress: a retry's backoff or a claim; attempt: an attempt, recorded
 * before its request is sent; terminal: the end. Attempt and terminal writes are retried until they
 * land, lose or stop: an unrecorded attempt must not be sent, and a finished task must not be forgotten.
 */
export type WriteKind = "queued" | "progress" | "attempt" | "terminal";

/** What every task's writes share (one object for all of them). */
export interface FencedWritesShared {
  writer: StatusWriter;
  clock: Clock;
  /**
   * An attempt or terminal write that fails (not a conflict) is retried until it lands, loses or the dispatcher
   * stops, after 0.5 s doubling up to this. Giving up would forget a finished task and run it again.
   */
  terminalWriteMaxBackoffMs: number;
  /** Aborted when the dispatcher stops: no more writes, and a retry's wait ends at once. */
  stopping: AbortSignal;
  /** The cache's copy of a Delegation, when the watch has already brought it. */
  cached?: ((namespace: string, name: string) => Delegation | undefined) | undefined;
}

export class FencedWrites {
  /** The last object the API returned to this process (or the cache's copy of that same version). */
  known: Delegation;
  readonly #deps: FencedWritesShared;
  /** Whose writes these are: its logger names the Delegation. */
  readonly #owner: { readonly log: Logger };
  /** The last attempt id of the object when we took it over; then the last one we wrote. */
  #claimId: string | undefined;
  /** Attempt ids this process wrote (made on the first: most tasks never start an attempt while queued). */
  #ownIds: Set<string> | undefined;
  #chain: Promise<boolean> = Promise.resolve(true);
  /** Drops the Queued report still waiting to be sent, if any. */
  #queuedReport: AbortController | undefined;
  #lost = false;

  constructor(known: Delegation, deps: FencedWritesShared, owner: { readonly log: Logger }) {
    this.known = known;
    this.#claimId = lastAttemptId(known);
    this.#deps = deps;
    this.#owner = owner;
  }

  /** An attempt id this process is about to write. */
  own(attemptId: string): void {
    this.#ownIds ??= new Set();
    this.#ownIds.add(attemptId);
  }

  /** True once a write found the object taken over by another writer, or gone. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Settles when every write queued so far has ended. */
  get settled(): Promise<unknown> {
    return this.#chain;
  }

  #isStillMine(fresh: Delegation): boolean {
    if (isTerminal(fresh)) return false;
    const id = lastAttemptId(fresh);
    if (id === undefined) return this.#claimId === undefined;
    return id === this.#claimId || this.#ownIds?.has(id) === true;
  }

  /**
   * Queues a write of `status` as the whole status. Resolves true once stored; false when an earlier
   * write lost, this one lost (the object is no longer ours, or gone), the dispatcher stopped, or
   * the terminal write gave up. A Queued report waits behind other writes, and is dropped if the
   * next write is queued before it was sent: that one carries the whole status.
   */
  write(status: DelegationStatus, kind: WriteKind, priority: number, isDone: () => boolean): Promise<boolean> {
    const terminal = kind === "terminal";
    const durable = terminal || kind === "attempt";
    this.#queuedReport?.abort();
    const report = kind === "queued" ? new AbortController() : undefined;
    this.#queuedReport = report;
    this.#chain = this.#chain.then(async (previousOk) => {
      try {
        if (!previousOk || this.#deps.stopping.aborted || (isDone() && !terminal)) return false;
        return await this.#commit(status, durable, priority, report);
      } finally {
        if (this.#queuedReport === report) this.#queuedReport = undefined;
      }
    });
    return this.#chain;
  }

  async #commit(
    status: DelegationStatus,
    durable: boolean,
    priority: number,
    report: AbortController | undefined,
  ): Promise<boolean> {
    for (let failures = 0; !this.#deps.stopping.aborted; failures++) {
      try {
        const stored = await this.#deps.writer.commit(this.known, status, (fresh) => this.#isStillMine(fresh), {
          priority,
          ...(report && { bestEffort: report.signal }),
        });
        if (!stored) {
          this.#lost = true;
          return false;
        }
        // The watch often brings our write before its reply does: then keep the cache's copy, not a
        // second one. Not a terminal one: the cache keeps only a summary of it (finished-summary.ts).
        const cached = isTerminal(stored)
          ? undefined
          : this.#deps.cached?.(stored.metadata.namespace ?? "", stored.metadata.name ?? "");
        this.known = cached && cached.metadata.resourceVersion === stored.metadata.resourceVersion ? cached : stored;
        this.#claimId = lastAttemptId(stored);
        return true;
      } catch (error) {
        if (error instanceof BestEffortWriteDroppedError) return true;
        if (!durable) {
          this.#owner.log.warn({ ...errorFields(error), durable }, "delegation status write failed");
          return true; // the next write carries the whole status again
        }
        const retryInMs = Math.min(500 * 2 ** Math.min(failures, 16), this.#deps.terminalWriteMaxBackoffMs);
        this.#owner.log.warn(
          { ...errorFields(error), durable, failures: failures + 1, retryInMs },
          "delegation status write failed; the task keeps its state and retries",
        );
        await this.#wait(retryInMs);
      }
    }
    return false;
  }

  /** Resolves after `ms`, or at once when the dispatcher stops. */
  #wait(ms: number): Promise<void> {
    const { clock, stopping } = this.#deps;
    return new Promise<void>((resolve) => {
      const done = () => {
        clock.clearTimer(timer);
        stopping.removeEventListener("abort", done);
        resolve();
      };
      const timer = clock.setTimer(done, ms);
      stopping.addEventListener("abort", done, { once: true });
    });
  }
}
