/**
 * The bytes of gateway replies buffered across every attempt in flight. Each reply is capped on its
 * own; this caps their sum, so that many agents answering at once with large replies cannot exhaust
 * the operator's memory.
 */
export class ReplyBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` when they fit; false (nothing taken) when they would pass the limit. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
