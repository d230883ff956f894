import { describe, expect, it } from "vitest";
import type { DelegationStatus } from "../../../src/api/delegation.ts";
import {
  attemptEnded,
  attemptFailed,
  attemptStarted,
  CANCELLED_BY_ANNOTATION,
  cancelled,
  countedAttempts,
  failed,
  finished,
  hasRunningAttempt,
  interrupted,
  MAX_ATTEMPT_ENTRIES,
  MAX_MESSAGE_CHARS,
  queued,
  running,
  stagesRunning,
} from "../../../src/delegation/status.ts";

const NOW = new Date("2030-01-01T00:00:10Z");
const T = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s)).toISOString().replace(".000Z", "Z");

const attempt = (n: number, extra: Partial<NonNullable<DelegationStatus["attempts"]>[number]> = {}) => ({
  id: `a${n}`,
  number: n,
  agent: "worker",
  pod: `pod-${n}`,
  startTime: T(n),
  outcome: "Failed" as const,
  ...extra,
});

describe("status transitions", () => {
  it("never change their input", () => {
    const input: DelegationStatus = { phase: "Running", attempts: [attempt(1, { outcome: "Running" })] };
    const frozen = structuredClone(input);
    running(input);
    queued(input, "worker", 3);
    attemptStarted(input, { id: "b", agent: "worker", pod: "p", podIP: "10.0.0.1", now: NOW });
    attemptEnded(input, "a1", "Succeeded", NOW);
    interrupted(input, NOW);
    finished(input, failed("AgentError", "x"), NOW, 2);
    expect(input).toEqual(frozen);
  });

  /** type → "status/reason", at generation 1 (a Delegation's spec never changes). */
  const summary = (s: DelegationStatus) => {
    expect(s.observedGeneration).toBe(1);
    expect(s.conditions!.every((c) => c.observedGeneration === 1)).toBe(true);
    return Object.fromEntries(s.conditions!.map((c) => [c.type, `${c.status}/${c.reason}`]));
  };
  const IN_PROGRESS = (reason: string) => ({
    Ready: `False/${reason}`,
    Reconciling: `True/${reason}`,
    Stalled: "False/AsExpected",
  });

  it("queued: Pending/Queued with the agent and how many are ahead, Reconciling", () => {
    const { conditions, observedGeneration, ...rest } = queued({}, "worker", 7, NOW);
    expect(rest).toEqual({
      phase: "Pending",
      reason: "Queued",
      message: "waiting for a free slot on worker (7 ahead)",
      agent: "worker",
    });
    expect(summary({ conditions, observedGeneration })).toEqual(IN_PROGRESS("Queued"));
  });

  it.each([
    { name: "the first attempt", attempts: [], number: 1, kept: 0 },
    { name: "after two", attempts: [attempt(1), attempt(2)], number: 3, kept: 2 },
    {
      name: "a full list makes room by dropping the oldest Interrupted entry",
      attempts: [attempt(1, { reason: "Interrupted" }), ...Array.from({ length: 15 }, (_, i) => attempt(i + 2))],
      number: 17,
      kept: 15,
    },
  ])("attemptStarted: $name", ({ attempts, number, kept }) => {
    const next = attemptStarted(
      { attempts },
      { id: "new", agent: "worker", pod: "pod-x", podIP: "10.0.0.9", now: NOW },
    )!;
    expect(next.attempts).toHaveLength(kept + 1);
    expect(next.attempts!.at(-1)).toEqual({
      id: "new",
      number,
      agent: "worker",
      pod: "pod-x",
      podIP: "10.0.0.9",
      startTime: NOW.toISOString().replace(".000Z", "Z"),
      outcome: "Running",
    });
    expect(next).toMatchObject({ agent: "worker", pod: "pod-x" });
  });

  it("attemptStarted: a full list without an Interrupted entry has no room", () => {
    const attempts = Array.from({ length: MAX_ATTEMPT_ENTRIES }, (_, i) => attempt(i + 1));
    expect(attemptStarted({ attempts }, { id: "x", agent: "w", pod: "p", podIP: "i", now: NOW })).toBeUndefined();
  });

  it("running: Running without reason or message, started when the first attempt did", () => {
    const { conditions, observedGeneration, ...next } = running({
      phase: "Pending",
      reason: "Queued",
      message: "waiting",
      attempts: [attempt(1)],
    });
    expect(next).toEqual({ phase: "Running", startTime: T(1), attempts: [attempt(1)] });
    expect(summary({ conditions, observedGeneration })).toEqual(IN_PROGRESS("Running"));
    expect(running({ startTime: T(0), attempts: [attempt(1)] }).startTime).toBe(T(0));
  });

  it("attemptEnded: only the attempt with that id, with its message capped", () => {
    const long = "x".repeat(MAX_MESSAGE_CHARS + 10);
    const next = attemptEnded(
      { attempts: [attempt(1), attempt(2, { outcome: "Running" })] },
      "a2",
      "Failed",
      NOW,
      "AgentError",
      long,
    );
    expect(next.attempts![0]).toEqual(attempt(1));
    expect(next.attempts![1]).toMatchObject({
      outcome: "Failed",
      reason: "AgentError",
      completionTime: NOW.toISOString().replace(".000Z", "Z"),
    });
    expect(next.attempts![1]!.message).toHaveLength(MAX_MESSAGE_CHARS);
  });

  const failure = {
    attemptId: "a2",
    attemptReason: "AgentError",
    message: "the gateway answered 503",
    terminalReason: "AgentError" as const,
    now: NOW,
    deadline: Date.parse("2030-01-01T00:10:00Z"),
  };
  it.each([
    {
      name: "retries while attempts and time remain",
      maxAttempts: 3,
      nextTryAt: Date.parse("2030-01-01T00:00:11Z"),
      expected: { retry: true, phase: "Running", message: "attempt 2 failed: the gateway answered 503; retrying" },
    },
    {
      name: "gives up after maxAttempts",
      maxAttempts: 2,
      nextTryAt: Date.parse("2030-01-01T00:00:11Z"),
      expected: { retry: false, ending: failed("AgentError", "the gateway answered 503 (after 2 attempts)") },
    },
    {
      name: "gives up when the next try would start after the deadline",
      maxAttempts: 9,
      nextTryAt: Date.parse("2030-01-01T00:10:00Z"),
      expected: { retry: false, ending: failed("AgentError", "the gateway answered 503 (and the deadline is near)") },
    },
  ])("attemptFailed: $name", ({ maxAttempts, nextTryAt, expected }) => {
    // a1 was interrupted, so it does not count: the one ending now (id a2) is the second that does.
    const status: DelegationStatus = {
      phase: "Running",
      reason: "Queued",
      attempts: [
        attempt(1, { reason: "Interrupted" }),
        attempt(2, { reason: "AgentError" }),
        attempt(3, { id: "a2", outcome: "Running" }),
      ],
    };
    const result = attemptFailed(status, { ...failure, maxAttempts, nextTryAt });
    expect(result.status.attempts!.at(-1)).toMatchObject({ id: "a2", outcome: "Failed", reason: "AgentError" });
    expect(result.retry).toBe(expected.retry);
    if (result.retry) {
      expect(result.status).toMatchObject({ phase: expected.phase, message: expected.message, startTime: T(1) });
      expect(result.status.reason).toBeUndefined();
    } else {
      expect(result.ending).toEqual(expected.ending);
    }
  });

  it("counts attempts without the Interrupted ones", () => {
    expect(countedAttempts({ attempts: [attempt(1, { reason: "Interrupted" }), attempt(2), attempt(3)] })).toBe(2);
    expect(countedAttempts({})).toBe(0);
  });

  it("interrupted: the last attempt ends Interrupted, the others stay", () => {
    const next = interrupted({ phase: "Running", attempts: [attempt(1), attempt(2, { outcome: "Running" })] }, NOW);
    expect(next.attempts![0]).toEqual(attempt(1));
    expect(next.attempts![1]).toMatchObject({
      outcome: "Failed",
      reason: "Interrupted",
      message: "the operator that ran this attempt stopped",
    });
  });

  it.each([
    { status: { phase: "Running" as const, attempts: [attempt(1, { outcome: "Running" as const })] }, expected: true },
    { status: { phase: "Running" as const, attempts: [attempt(1)] }, expected: false },
    { status: { phase: "Pending" as const, attempts: [attempt(1, { outcome: "Running" as const })] }, expected: false },
    { status: undefined, expected: false },
  ])("hasRunningAttempt($status.phase) is $expected", ({ status, expected }) => {
    expect(hasRunningAttempt(status)).toBe(expected);
  });

  it("stagesRunning: Running with the stages, and nothing when they did not change", () => {
    const stages = [{ index: 0, agent: "a", phase: "Pending" as const }];
    const next = stagesRunning({ reason: "Queued", message: "m" }, stages, NOW)!;
    const { conditions, observedGeneration, ...rest } = next;
    expect(rest).toEqual({ phase: "Running", startTime: NOW.toISOString().replace(".000Z", "Z"), stages });
    expect(summary({ conditions, observedGeneration })).toEqual(IN_PROGRESS("Running"));
    expect(stagesRunning(next, structuredClone(stages), NOW)).toBeUndefined();
  });

  it.each([
    {
      name: "Succeeded with the answer",
      ending: { phase: "Succeeded" as const, reason: "Completed" as const },
      outputs: { result: "42", usage: { totalTokens: 3 }, agent: "worker" },
      condition: { type: "Complete", reason: "Completed", message: "the agent answered" },
      message: undefined,
    },
    {
      name: "Failed with its reason",
      ending: failed("TimedOut", "timed out after 10 s"),
      outputs: {},
      condition: { type: "Failed", reason: "TimedOut", message: "timed out after 10 s" },
      message: "timed out after 10 s",
    },
    {
      name: "Cancelled by the annotation",
      ending: cancelled(),
      outputs: {},
      condition: { type: "Failed", reason: "Cancelled", message: CANCELLED_BY_ANNOTATION },
      message: CANCELLED_BY_ANNOTATION,
    },
  ])("finished: $name", ({ ending, outputs, condition, message }) => {
    const next = finished(
      { phase: "Running", message: "attempt 1 failed", attempts: [attempt(1)] },
      ending,
      NOW,
      4,
      outputs,
    );
    expect(next).toMatchObject({ phase: ending.phase, reason: ending.reason, observedGeneration: 4, ...outputs });
    expect(next.message).toBe(message);
    expect(next.startTime).toBe(T(1));
    expect(next.completionTime).toBe(NOW.toISOString().replace(".000Z", "Z"));
    expect(next.duration).toBe("9s"); // from the first attempt's start, T(1), to NOW
    const at = { observedGeneration: 4, lastTransitionTime: next.completionTime, message: condition.message };
    const succeeded = ending.phase === "Succeeded";
    expect(next.conditions).toEqual([
      { ...at, type: "Ready", status: succeeded ? "True" : "False", reason: ending.reason },
      { ...at, type: "Reconciling", status: "False", reason: ending.reason },
      {
        ...at,
        type: "Stalled",
        status: succeeded ? "False" : "True",
        reason: succeeded ? "AsExpected" : ending.reason,
      },
      { ...condition, status: "True", observedGeneration: 4, lastTransitionTime: next.completionTime },
    ]);
  });

  it("finished: caps the message, and starts now when nothing ran", () => {
    const next = finished(undefined, failed("Rejected", "y".repeat(MAX_MESSAGE_CHARS * 2)), NOW, undefined);
    expect(next.message).toHaveLength(MAX_MESSAGE_CHARS);
    expect(next.startTime).toBe(next.completionTime);
    expect(next.duration).toBe("0s");
    expect(next.observedGeneration).toBe(1);
  });
});
