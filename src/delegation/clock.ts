/** Time for the dispatcher: the real one, or a fake in unit tests. */
import { type TimerEntry, TimerHeap } from "../runtime/timer-heap.ts";

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** Every task's deadline and queue timers under one Node timer. */
const timers = new TimerHeap();

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => timers.schedule(ms, fn),
  clearTimer: (handle) => timers.cancel(handle as TimerEntry | undefined),
};
