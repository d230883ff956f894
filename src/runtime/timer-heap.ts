/**
 * Many timers under one Node timer: a binary min-heap by due time, as client-go's delaying queue
 * keeps its waiting items. Thousands of long timers (a Delegation's deadline, a finished one's TTL)
 * then cost a heap entry each instead of a Timeout, a closure and often a TimersList each.
 */

/** A scheduled call; pass it to cancel(). */
export interface TimerEntry {
  readonly at: number;
  /** Position in the heap; -1 once it ran or was cancelled. */
  index: number;
  fn: () => void;
}

const NEVER = Number.POSITIVE_INFINITY;
/** setTimeout's largest delay. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class TimerHeap {
  readonly #heap: TimerEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = NEVER;

  get size(): number {
    return this.#heap.length;
  }

  /** Calls `fn` after `ms` (at least 0). */
  schedule(ms: number, fn: () => void): TimerEntry {
    const entry: TimerEntry = { at: Date.now() + Math.max(0, ms), index: this.#heap.length, fn };
    this.#heap.push(entry);
    this.#up(entry.index);
    if (entry.at < this.#timerAt) this.#arm();
    return entry;
  }

  cancel(entry: TimerEntry | undefined): void {
    if (!entry || entry.index < 0) return;
    this.#remove(entry.index);
    if (this.#heap.length === 0) this.#disarm();
  }

  clear(): void {
    for (const entry of this.#heap) entry.index = -1;
    this.#heap.length = 0;
    this.#disarm();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const top = this.#heap[0];
    if (!top) {
      this.#disarm();
      return;
    }
    this.#timerAt = top.at;
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_DELAY_MS, Math.max(0, top.at - Date.now())));
    this.#timer.unref();
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = NEVER;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = NEVER;
    const now = Date.now();
    for (let top = this.#heap[0]; top && top.at <= now; top = this.#heap[0]) {
      this.#remove(0);
      top.fn();
    }
    // A callback may have armed the timer for a later entry than the new top.
    if (this.#heap.length > 0) this.#arm();
    else this.#disarm();
  }

  #remove(index: number): void {
    const heap = this.#heap;
    const entry = heap[index]!;
    entry.index = -1;
    const last = heap.pop()!;
    if (last === entry) return;
    heap[index] = last;
    last.index = index;
    this.#down(index);
    this.#up(last.index);
  }

  #up(index: number): void {
    const heap = this.#heap;
    for (let i = index; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= heap[i]!.at) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(index: number): void {
    const heap = this.#heap;
    for (let i = index; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && heap[left]!.at < heap[least]!.at) least = left;
      if (right < heap.length && heap[right]!.at < heap[least]!.at) least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    const x = heap[a]!;
    const y = heap[b]!;
    heap[a] = y;
    heap[b] = x;
    y.index = a;
    x.index = b;
  }
}
