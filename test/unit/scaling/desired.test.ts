import { describe, expect, it } from "vitest";
import {
  decide,
  desiredReplicas,
  type Scaling,
  SlidingWindowMax,
  terminationGraceSeconds,
} from "../../../src/scaling/desired.ts";

const scaling: Scaling = {
  minReplicas: 1,
  maxReplicas: 10,
  targetPendingPerReplica: 2,
  scaleDownDelaySeconds: 60,
  mode: "Operator",
};

describe("desiredReplicas", () => {
  it.each([
    [{ queued: 0, inFlight: 0 }, 1],
    [{ queued: 0, inFlight: 4 }, 1],
    [{ queued: 2, inFlight: 4 }, 1],
    [{ queued: 3, inFlight: 4 }, 2],
    [{ queued: 100, inFlight: 8 }, 10],
  ])("with 4 slots and 2 pending per replica, %o needs %i", (load, expected) => {
    expect(desiredReplicas(scaling, 4, load)).toBe(expected);
  });

  it("scales to zero when idle and back to one for queued work", () => {
    const zero = { ...scaling, minReplicas: 0 };
    expect(desiredReplicas(zero, 4, { queued: 0, inFlight: 0 })).toBe(0);
    expect(desiredReplicas(zero, 4, { queued: 1, inFlight: 0 })).toBe(1);
  });
});

describe("SlidingWindowMax", () => {
  it("is the largest value in effect within the window, with one entry per distinct value kept", () => {
    const w = new SlidingWindowMax();
    w.push(5, 0);
    w.push(3, 10);
    w.push(1, 20);
    expect(w.size).toBe(3);
    expect(w.max(20, 60)).toBe(5);
    // 5 was replaced at 10: it leaves the window at 70, then 3 (replaced at 20) at 80.
    expect(w.nextDrop(60)).toBe(70);
    expect(w.max(69, 60)).toBe(5);
    expect(w.max(70, 60)).toBe(3);
    expect(w.max(80, 60)).toBe(1);
    expect(w.size).toBe(1);
    expect(w.nextDrop(60)).toBeUndefined();
  });

  it("keeps memory to the distinct values however many samples arrive", () => {
    const w = new SlidingWindowMax();
    for (let t = 0; t < 100_000; t++) w.push(t % 4, t);
    expect(w.size).toBeLessThanOrEqual(4);
    expect(w.max(100_000, 1000)).toBe(3);
  });

  it("drops a smaller older sample once a larger one arrives", () => {
    const w = new SlidingWindowMax();
    w.push(1, 0);
    w.push(2, 1);
    w.push(7, 2);
    expect(w.size).toBe(1);
    expect(w.max(1000, 10)).toBe(7);
  });
});

describe("decide", () => {
  const input = (queued: number, current: number, busyPods = 0) => ({
    scaling,
    maxConcurrentTasks: 4,
    load: { queued, inFlight: 0 },
    current,
    busyPods,
  });

  it("scales up at once and down only after the delay, to the largest count wanted within it", () => {
    const w = new SlidingWindowMax();
    w.push(1, 0);
    expect(decide(w, input(30, 1), 0)).toEqual({ wanted: 5, target: 5, recheckAt: undefined });
    expect(decide(w, input(12, 5), 10_000)).toEqual({ wanted: 2, target: 5, recheckAt: 70_000 });
    expect(decide(w, input(0, 5), 20_000)).toMatchObject({ wanted: 1, target: 5 });
    expect(decide(w, input(0, 5), 69_999).target).toBe(5);
    expect(decide(w, input(0, 5), 70_000)).toEqual({ wanted: 1, target: 2, recheckAt: 80_000 });
    expect(decide(w, input(0, 2), 80_000)).toEqual({ wanted: 1, target: 1, recheckAt: undefined });
  });

  it("keeps a new leader's current count for a full window", () => {
    const w = new SlidingWindowMax();
    w.push(4, 1000); // what the new leader found running
    expect(decide(w, input(0, 4), 1000).target).toBe(4);
    expect(decide(w, input(0, 4), 61_000).target).toBe(1);
  });

  it("never removes a pod that is executing a delegation", () => {
    const w = new SlidingWindowMax();
    w.push(4, 0);
    expect(decide(w, input(0, 4, 3), 1).target).toBe(4);
    expect(decide(w, input(0, 4, 3), 120_000).target).toBe(3);
  });
});

it("terminationGraceSeconds covers timeoutSeconds within 60 s..1 h", () => {
  expect(terminationGraceSeconds(1)).toBe(60);
  expect(terminationGraceSeconds(600)).toBe(630);
  expect(terminationGraceSeconds(86_400)).toBe(3600);
});
