import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
} from "../../../src/runtime/ratelimiter.ts";
import { runWorkers, WorkQueue } from "../../../src/runtime/workqueue.ts";

/** A promise with its resolve function, to hold a worker inside processing. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets pending promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkQueue", () => {
  it("queues a key added several times once (dedup), in first-added order", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    queue.add("b");
    queue.add("a");
    queue.add("b");
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe("a");
    expect(await queue.get()).toBe("b");
    expect(queue.len()).toBe(0);
  });

  it("does not queue a key that is being processed; re-queues it once after done()", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    expect(await queue.get()).toBe("a");

    queue.add("a");
    queue.add("a");
    expect(queue.len()).toBe(0); // not handed to another worker while processing
    queue.done("a");
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe("a");
    queue.done("a");
    expect(queue.len()).toBe(0);
  });

  it("never processes one key concurrently, even with many workers, and processes re-adds afterwards", async () => {
    const queue = new WorkQueue();
    const inFlight = new Map<string, number>();
    let maxSameKey = 0;
    const processed: string[] = [];
    const gate = deferred();
    const workers = runWorkers(queue, {
      concurrency: 4,
      process: async (key) => {
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        maxSameKey = Math.max(maxSameKey, inFlight.get(key)!);
        processed.push(key);
        if (processed.length === 1) await gate.promise;
        inFlight.set(key, inFlight.get(key)! - 1);
      },
    });

    queue.add("x");
    await flush();
    // "x" is being processed: adding it again (several times) must not start a second worker on it.
    queue.add("x");
    queue.add("x");
    queue.add("y");
    await flush();
    expect(processed).toEqual(["x", "y"]);
    gate.resolve();
    await vi.waitFor(() => expect(processed).toEqual(["x", "y", "x"]));
    await queue.shutDown({ drain: true });
    await workers;
    expect(maxSameKey).toBe(1);
  });

  it("bounds concurrency to the number of workers and processes every key", async () => {
    const queue = new WorkQueue();
    let active = 0;
    let maxActive = 0;
    const processed = new Set<string>();
    const workers = runWorkers(queue, {
      concurrency: 3,
      process: async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        processed.add(key);
        active--;
      },
    });
    for (let i = 0; i < 10; i++) queue.add(`k${i}`);
    await vi.waitFor(() => expect(processed.size).toBe(10));
    expect(maxActive).toBe(3);
    await queue.shutDown();
    await workers;
  });

  it("addRateLimited delays by a per-key backoff that doubles; forget() resets it", async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) });

    const delayOfNextRetry = async (key: string): Promise<number> => {
      queue.addRateLimited(key);
      let waited = 0;
      while (queue.len() === 0) {
        await vi.advanceTimersByTimeAsync(1);
        waited++;
      }
      expect(await queue.get()).toBe(key);
      queue.done(key);
      return waited;
    };

    expect(await delayOfNextRetry("a")).toBe(5);
    expect(await delayOfNextRetry("a")).toBe(10);
    expect(await delayOfNextRetry("a")).toBe(20);
    expect(queue.numRequeues("a")).toBe(3);
    expect(await delayOfNextRetry("b")).toBe(5); // per key
    queue.forget("a");
    expect(queue.numRequeues("a")).toBe(0);
    expect(await delayOfNextRetry("a")).toBe(5);
  });

  it("addAfter adds the key when the delay elapses; the earliest pending time wins", async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue();
    queue.addAfter("a", 100);
    queue.addAfter("a", 500); // later: ignored
    queue.addAfter("b", 300);
    queue.addAfter("b", 50); // earlier: replaces
    await vi.advanceTimersByTimeAsync(49);
    expect(queue.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe("b");
    await vi.advanceTimersByTimeAsync(50);
    expect(await queue.get()).toBe("a");
    await vi.advanceTimersByTimeAsync(1000);
    expect(queue.len()).toBe(0); // the replaced timers did not fire
  });

  it("holds many delayed keys under one timer and adds each when it is due, in time order", async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue<number>();
    const delays = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1000) + 1); // 1..1000 ms, shuffled
    delays.forEach((ms, key) => {
      queue.addAfter(key, ms);
    });
    expect(vi.getTimerCount()).toBe(1);
    const seen: number[] = [];
    for (let t = 1; t <= 1000; t++) {
      await vi.advanceTimersByTimeAsync(1);
      while (queue.len() > 0) {
        const key = (await queue.get())!;
        expect(delays[key]).toBe(t); // not early, not late
        seen.push(key);
        queue.done(key);
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual(delays.map((_, key) => key));
    expect(vi.getTimerCount()).toBe(0);
    await queue.shutDown();
  });

  it("shutDown({ drain: true }) stops taking work and resolves only when in-flight work is done", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    queue.add("b");
    expect(await queue.get()).toBe("a");

    let drained = false;
    const shutdown = queue.shutDown({ drain: true }).then(() => {
      drained = true;
    });
    queue.add("c");
    queue.add("a");
    expect(await queue.get()).toBeUndefined(); // queued "b" is not handed out any more
    await flush();
    expect(drained).toBe(false);

    queue.done("a");
    await shutdown;
    expect(drained).toBe(true);
    expect(queue.len()).toBe(0); // "a" re-added during shutdown was not re-queued
  });

  it("shutDown releases idle workers and runWorkers resolves", async () => {
    const queue = new WorkQueue();
    const workers = runWorkers(queue, { concurrency: 2, process: async () => {} });
    await flush();
    await queue.shutDown({ drain: false });
    await expect(workers).resolves.toBeUndefined();
  });

  it("reports depth and retries to its metrics hooks", async () => {
    vi.useFakeTimers();
    const depths: number[] = [];
    let retries = 0;
    const queue = new WorkQueue({
      rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000),
      metrics: { depth: (d) => depths.push(d), retried: () => retries++ },
    });
    queue.add("a");
    queue.add("b");
    await queue.get();
    queue.addRateLimited("c");
    await vi.advanceTimersByTimeAsync(5);
    expect(depths).toEqual([1, 2, 1, 2]);
    expect(retries).toBe(1);
  });
});

describe("rate limiters", () => {
  it("ItemExponentialFailureRateLimiter doubles from base up to max", () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    const delays = Array.from({ length: 20 }, () => limiter.when("k"));
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(delays[17]).toBe(655_360);
    expect(delays[18]).toBe(1_000_000);
    expect(delays[19]).toBe(1_000_000);
  });

  it("BucketRateLimiter allows a burst, then spaces requests at qps", () => {
    let now = 0;
    const limiter = new BucketRateLimiter(10, 3, () => now);
    expect([limiter.when("a"), limiter.when("b"), limiter.when("c")]).toEqual([0, 0, 0]);
    expect(limiter.when("d")).toBe(100);
    expect(limiter.when("e")).toBe(200);
    now = 1000; // 10 tokens refilled: pays back the 2 borrowed, then capped at the burst of 3
    expect(limiter.when("f")).toBe(0);
  });

  it("MaxOfRateLimiter takes the longest delay and forgets in all", () => {
    const limiter = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 1000),
      new ItemExponentialFailureRateLimiter(50, 1000),
    );
    expect(limiter.when("k")).toBe(50);
    expect(limiter.when("k")).toBe(100);
    limiter.forget("k");
    expect(limiter.numRequeues("k")).toBe(0);
    expect(limiter.when("k")).toBe(50);
  });
});
