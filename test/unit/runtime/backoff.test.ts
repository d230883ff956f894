import { describe, expect, it } from "vitest";
import { Backoff, sleep } from "../../../src/runtime/backoff.ts";

describe("Backoff", () => {
  it("grows exponentially up to the cap, without jitter when random() is 0", () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5, random: () => 0 });
    expect(Array.from({ length: 6 }, () => backoff.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it("stretches each delay by at most the jitter fraction", () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 });
    for (let i = 0; i < 100; i++) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(1500);
    }
  });
});

describe("sleep", () => {
  it("returns early when aborted", async () => {
    const abort = new AbortController();
    const started = Date.now();
    const slept = sleep(10_000, abort.signal);
    abort.abort();
    await slept;
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
