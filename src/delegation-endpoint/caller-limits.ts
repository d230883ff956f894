/**
 * Limits per calling agent on the delegation endpoint, so that one tenant's agent cannot flood the
 * API server or the operator: a token bucket on new Delegations, and a cap on the Delegations it has
 * not seen finish. Over a limit the caller gets 429 with Retry-After, and nothing is created.
 */

import { keyOf } from "../runtime/store.ts";
import type { Caller } from "./service.ts";
import { EndpointError } from "./service.ts";

export interface CallerLimitOptions {
  /** New Delegations per second per caller, refilled continuously. */
  ratePerSecond: number;
  /** How many may be created at once before the rate applies. */
  burst: number;
  /** Delegations of one caller that are not finished yet. */
  maxOutstanding: number;
  now?: () => number;
}

export const DEFAULT_CALLER_LIMITS: CallerLimitOptions = { ratePerSecond: 5, burst: 20, maxOutstanding: 100 };

/** Buckets of callers idle long enough to be full again are dropped past this many. */
const MAX_TRACKED_CALLERS = 10_000;

interface Bucket {
  tokens: number;
  last: number;
}

/** Refused for a limit: 429, with the seconds after which a retry may pass. */
export class TooManyRequestsError extends EndpointError {
  override name = "TooManyRequestsError";
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(429, "TooManyRequests", message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class CallerLimits {
  readonly #options: CallerLimitOptions;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: Partial<CallerLimitOptions> = {}) {
    this.#options = { ...DEFAULT_CALLER_LIMITS, ...options };
    this.#now = options.now ?? Date.now;
  }

  /**
   * Takes one token for a new Delegation of `caller`, which has `outstanding` unfinished ones;
   * throws TooManyRequestsError (and takes nothing) when over a limit.
   */
  admit(caller: Caller, outstanding: number): void {
    const { ratePerSecond, burst, maxOutstanding } = this.#options;
    const who = keyOf({ namespace: caller.namespace, name: caller.agent });
    if (outstanding >= maxOutstanding) {
      throw new TooManyRequestsError(
        `agent ${who} has ${outstanding} unfinished Delegations, the most it may have; wait for some to finish`,
        5,
      );
    }
    const now = this.#now();
    const bucket = this.#buckets.get(who) ?? { tokens: burst, last: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.last) / 1000) * ratePerSecond);
    bucket.last = now;
    this.#buckets.set(who, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.ceil((1 - bucket.tokens) / ratePerSecond);
      throw new TooManyRequestsError(
        `agent ${who} creates Delegations faster than ${ratePerSecond}/s (burst ${burst})`,
        retryAfter,
      );
    }
    bucket.tokens -= 1;
    if (this.#buckets.size > MAX_TRACKED_CALLERS) this.#dropFullBuckets(now);
  }

  #dropFullBuckets(now: number): void {
    const { ratePerSecond, burst } = this.#options;
    for (const [who, b] of this.#buckets) {
      if (b.tokens + ((now - b.last) / 1000) * ratePerSecond >= burst) this.#buckets.delete(who);
    }
  }
}
