import { describe, expect, it } from "vitest";
import { desiredReplicas, ScaleDownWindow, type Scaling } from "../../../src/scaling/desired.ts";

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

describe("ScaleDownWindow", () => {
  it("scales up at once and down only after the delay", () => {
    const w = new ScaleDownWindow();
    expect(w.target("a", 2, 5, 0, 60_000)).toBe(5);
    expect(w.target("a", 5, 1, 10_000, 60_000)).toBe(5);
    expect(w.target("a", 5, 1, 59_000, 60_000)).toBe(5);
    expect(w.target("a", 5, 1, 71_000, 60_000)).toBe(1);
  });

  it("keeps a new leader's current count for a full window", () => {
    const w = new ScaleDownWindow();
    expect(w.target("b", 4, 1, 1000, 30_000)).toBe(4);
    expect(w.target("b", 4, 1, 32_000, 30_000)).toBe(1);
  });

  it("steps down to the largest count wanted within the window", () => {
    const w = new ScaleDownWindow();
    w.target("c", 6, 6, 0, 10_000);
    w.target("c", 6, 3, 5_000, 10_000);
    expect(w.target("c", 6, 1, 12_000, 10_000)).toBe(3);
  });
});
