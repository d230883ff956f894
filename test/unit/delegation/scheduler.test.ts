import { describe, expect, it } from "vitest";
import type { PodEndpoint } from "../../../src/delegation/pod-endpoints.ts";
import { type Schedulable, Scheduler } from "../../../src/delegation/scheduler.ts";

const entry = (name: string, extra: Partial<Schedulable> = {}): Schedulable => ({
  namespace: "ns",
  name,
  agent: "worker",
  priority: 0,
  created: 0,
  failedPods: undefined,
  ...extra,
});
const pod = (name: string): PodEndpoint => ({
  pod: name,
  ip: "10.0.0.1",
  port: 1,
  ready: true,
  serving: true,
  terminating: false,
});

/** Places everything that fits and returns [entry, pod] pairs in start order. */
function placeAll(s: Scheduler<Schedulable>, pods: PodEndpoint[], slots: number, canStart = () => true) {
  const started: [string, string][] = [];
  s.place("ns", "worker", pods, slots, canStart, (e, p) => {
    started.push([e.name, p.pod]);
    return true;
  });
  return started;
}

describe("Scheduler", () => {
  it("orders by priority, then creation time, then name", () => {
    const s = new Scheduler<Schedulable>();
    for (const e of [
      entry("c", { created: 5 }),
      entry("b", { created: 5 }),
      entry("a", { created: 9 }),
      entry("z", { priority: 2, created: 99 }),
    ])
      s.enqueue(e);
    expect(placeAll(s, [pod("p")], 9).map(([n]) => n)).toEqual(["z", "b", "c", "a"]);
  });

  it("fills the least-loaded pod first, never past its slots, and spreads ties", () => {
    const s = new Scheduler<Schedulable>();
    for (let i = 0; i < 5; i++) s.enqueue(entry(`d${i}`));
    const started = placeAll(s, [pod("a"), pod("b")], 2);
    expect(started.map(([, p]) => p).sort()).toEqual(["a", "a", "b", "b"]);
    expect(s.waiting("ns", "worker")).toBe(1);
    expect(s.running("ns", "worker").size).toBe(4);
    const first = [...s.running("ns", "worker")][0]!;
    s.release(first, started[0]![1]);
    expect(placeAll(s, [pod("a"), pod("b")], 2)).toEqual([["d4", started[0]![1]]]);
  });

  it("uses a pod an entry failed on only when no other pod is ready", () => {
    const s = new Scheduler<Schedulable>();
    // retry goes first (priority) and skips a, the pod it failed on, although both are free.
    s.enqueue(entry("retry", { priority: 1, failedPods: new Set(["a"]) }));
    s.enqueue(entry("fresh"));
    expect(placeAll(s, [pod("a"), pod("b")], 1)).toEqual([
      ["retry", "b"],
      ["fresh", "a"],
    ]);
    const s2 = new Scheduler<Schedulable>();
    s2.enqueue(entry("busy"));
    placeAll(s2, [pod("b")], 1);
    s2.enqueue(entry("retry", { failedPods: new Set(["a"]) }));
    expect(placeAll(s2, [pod("a"), pod("b")], 1)).toEqual([]);
    expect(placeAll(s2, [pod("a")], 1)).toEqual([["retry", "a"]]);
  });

  it("stops when canStart says so, and takes no slot for an entry start refuses", () => {
    const s = new Scheduler<Schedulable>();
    for (let i = 0; i < 3; i++) s.enqueue(entry(`d${i}`));
    let budget = 1;
    expect(placeAll(s, [pod("a")], 9, () => budget-- > 0)).toHaveLength(1);
    s.place(
      "ns",
      "worker",
      [pod("a")],
      9,
      () => true,
      () => false,
    );
    expect(s.running("ns", "worker").size).toBe(1);
    expect(s.waiting("ns", "worker")).toBe(0);
  });

  it("counts parked entries as waiting, and forgets agents with nothing left", () => {
    const s = new Scheduler<Schedulable>();
    const e = entry("backoff");
    s.park(e);
    expect(s.waiting("ns", "worker")).toBe(1);
    expect(s.agents()).toEqual([{ namespace: "ns", agent: "worker" }]);
    s.unpark(e);
    s.enqueue(e);
    expect(s.ahead(e)).toBe(0);
    expect(s.dequeue(e)).toBe(true);
    expect(s.dequeue(e)).toBe(false);
    expect(s.agents()).toEqual([]);
  });
});
