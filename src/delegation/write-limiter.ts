/** The status writer's semaphore: priorities, and best-effort writes that may be dropped. */

/** A best-effort write was not sent: a later write carries the status, or too many were waiting. */
export class BestEffortWriteDroppedError extends Error {
  override readonly name = "BestEffortWriteDroppedError";
}

/**
 * A counting semaphore. Waiters go by priority, highest first. Low-priority holders (best-effort
 * writes) go after every other waiter, hold at most `lowLimit` of the slots, and can be dropped
 * while they wait.
 */
export class WriteLimiter {
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
