import { afterEach, describe, expect, it, vi } from "vitest";
import { TimerHeap } from "../../../src/runtime/timer-heap.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("TimerHeap", () => {
  it("runs many timers in due order under one Node timer, none early or late", async () => {
    vi.useFakeTimers();
    const heap = new TimerHeap();
    const ran: [number, number][] = [];
    const t0 = Date.now();
    const delays = Array.from({ length: 300 }, (_, i) => ((i * 7919) % 600) + 1);
    for (const [i, ms] of delays.entries()) heap.schedule(ms, () => ran.push([i, Date.now() - t0]));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(ran).toHaveLength(300);
    for (const [i, at] of ran) expect(at).toBe(delays[i]);
    expect(ran.map(([, at]) => at)).toEqual([...ran.map(([, at]) => at)].sort((a, b) => a - b));
    expect(heap.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("cancels any entry, the earliest included, and removes it at once", async () => {
    vi.useFakeTimers();
    const heap = new TimerHeap();
    const ran: string[] = [];
    const first = heap.schedule(10, () => ran.push("first"));
    const middle = heap.schedule(20, () => ran.push("middle"));
    heap.schedule(30, () => ran.push("last"));
    heap.cancel(first);
    heap.cancel(middle);
    heap.cancel(middle); // twice: no effect
    expect(heap.size).toBe(1);
    await vi.advanceTimersByTimeAsync(29);
    expect(ran).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ran).toEqual(["last"]);
  });

  it("keeps time when a callback schedules a later timer while earlier ones wait", async () => {
    vi.useFakeTimers();
    const heap = new TimerHeap();
    const ran: string[] = [];
    heap.schedule(10, () => {
      ran.push("a");
      heap.schedule(1000, () => ran.push("late"));
    });
    heap.schedule(50, () => ran.push("b"));
    await vi.advanceTimersByTimeAsync(50);
    expect(ran).toEqual(["a", "b"]);
    await vi.advanceTimersByTimeAsync(960);
    expect(ran).toEqual(["a", "b", "late"]);
  });

  it("clear() drops every timer", async () => {
    vi.useFakeTimers();
    const heap = new TimerHeap();
    let ran = 0;
    const entry = heap.schedule(5, () => ran++);
    heap.schedule(6, () => ran++);
    heap.clear();
    heap.cancel(entry); // after clear: no effect
    await vi.advanceTimersByTimeAsync(100);
    expect(ran).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
