/** Exponential backoff with jitter (like client-go's wait.Backoff) and an abortable sleep. */

export interface BackoffOptions {
  /** First delay. Default 800 ms (client-go's reflector). */
  initialMs?: number;
  /** Upper bound before jitter. Default 30 s. */
  maxMs?: number;
  /** Growth per step. Default 2. */
  factor?: number;
  /** Each delay is stretched by a random 0..jitter fraction. Default 0.5. */
  jitter?: number;
  /** Source of randomness in [0, 1); for tests. */
  random?: () => number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 800;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = options.jitter ?? 0.5;
    this.#random = options.random ?? Math.random;
  }

  /** The delay before the next attempt; each call grows it. */
  next(): number {
    const base = Math.min(this.#maxMs, this.#initialMs * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(base * (1 + this.#jitter * this.#random()));
  }

  /** Back to the initial delay, after a success. */
  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
