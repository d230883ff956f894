/**
 * Every change to a Delegation's status, as pure functions: queued, an attempt started, running,
 * an attempt failed (retry or give up), a recovered attempt interrupted, pipeline stages, finished.
 * Nothing else sets phase, reason, conditions or caps messages. Each returns a new status; the
 * input is never changed (attempts, conditions and usage are replaced, not edited in place).
 * Every phase carries kstatus's conditions (Ready, Reconciling, Stalled; docs/gitops.md): Pending and
 * Running read InProgress, Succeeded Current, and Failed Failed, with the reason.
 */
import type { z } from "zod";
import type { Attempt as AttemptSchema, DelegationReason, DelegationStatus } from "../api/delegation.ts";
import { setCondition } from "../runtime/conditions.ts";
import { metaTime, shortDuration } from "../runtime/time.ts";
import type { ChatUsage } from "./transport.ts";

/** status.message and attempts[].message hold at most this many characters (the CRD's limit). */
export const MAX_MESSAGE_CHARS = 4096;
/** attempts[] holds at most this many entries (the CRD's limit). */
export const MAX_ATTEMPT_ENTRIES = 16;
export const CANCELLED_BY_ANNOTATION = "cancelled by the clawcrew.io/cancel annotation";

const cap = (message: string) => message.slice(0, MAX_MESSAGE_CHARS);

/**
 * spec is immutable (self == oldSelf) and the API server bumps a custom resource's generation only
 * when its spec changes, so every Delegation is at generation 1 until it is finished.
 */
const SPEC_GENERATION = 1;

/** Ready, Reconciling and Stalled for the status's phase, with status.observedGeneration. */
function withPhaseConditions(status: DelegationStatus, now: Date, generation = SPEC_GENERATION): DelegationStatus {
  const phase = status.phase ?? "Pending";
  const reason = status.reason ?? phase;
  const message = status.message ?? PHASE_MESSAGES[phase];
  const failed = phase === "Failed";
  const done = phase === "Succeeded" || failed;
  const set = (conditions: DelegationStatus["conditions"], type: string, on: boolean, why: string) =>
    setCondition(
      conditions,
      { type, status: on ? "True" : "False", reason: why, message, observedGeneration: generation },
      now,
    );
  let conditions = set(status.conditions, "Ready", phase === "Succeeded", reason);
  conditions = set(conditions, "Reconciling", !done, reason);
  conditions = set(conditions, "Stalled", failed, failed ? reason : "AsExpected");
  return { ...status, observedGeneration: generation, conditions };
}

const PHASE_MESSAGES: Record<NonNullable<DelegationStatus["phase"]>, string> = {
  Pending: "waiting for an agent",
  Running: "an agent is working on it",
  Succeeded: "the agent answered",
  Failed: "the delegation failed",
};

/** Attempts that count against maxAttempts: an attempt interrupted by an operator restart does not. */
export function countedAttempts(status: DelegationStatus): number {
  return (status.attempts ?? []).filter((a) => a.reason !== "Interrupted").length;
}

/** Pending/Queued: the one report a Delegation gets while it waits for a slot. */
export function queued(status: DelegationStatus, agent: string, ahead: number, now = new Date()): DelegationStatus {
  return withPhaseConditions(
    {
      ...status,
      phase: "Pending",
      reason: "Queued",
      message: `waiting for a free slot on ${agent} (${Math.max(0, ahead)} ahead)`,
      agent,
    },
    now,
  );
}

export interface StartedAttempt {
  id: string;
  agent: string;
  pod: string;
  podIP: string;
  now: Date;
}

/**
 * A new attempt, numbered after the last. Undefined when attempts[] is full: the oldest Interrupted
 * entry makes room; without one, the Delegation has run out of attempts.
 */
export function attemptStarted(status: DelegationStatus, a: StartedAttempt): DelegationStatus | undefined {
  let attempts = status.attempts ?? [];
  if (attempts.length >= MAX_ATTEMPT_ENTRIES) {
    const index = attempts.findIndex((x) => x.reason === "Interrupted");
    if (index < 0) return undefined;
    attempts = attempts.filter((_, i) => i !== index);
  }
  const record: z.infer<typeof AttemptSchema> = {
    id: a.id,
    number: (attempts[attempts.length - 1]?.number ?? 0) + 1,
    agent: a.agent,
    pod: a.pod,
    podIP: a.podIP,
    startTime: metaTime(a.now),
    outcome: "Running",
  };
  return { ...status, attempts: [...attempts, record], agent: a.agent, pod: a.pod };
}

/** Running, with no reason or message: an attempt is in flight (written before its request is sent). */
export function running(status: DelegationStatus, now = new Date()): DelegationStatus {
  const next: DelegationStatus = {
    ...status,
    phase: "Running",
    startTime: status.startTime ?? status.attempts?.[0]?.startTime,
  };
  delete next.reason;
  delete next.message;
  return withPhaseConditions(next, now);
}

/** The end of one attempt, recorded in attempts[]. */
export function attemptEnded(
  status: DelegationStatus,
  attemptId: string,
  outcome: "Succeeded" | "Failed",
  now: Date,
  reason?: string,
  message?: string,
): DelegationStatus {
  const completionTime = metaTime(now);
  return {
    ...status,
    attempts: (status.attempts ?? []).map((a) =>
      a.id === attemptId
        ? { ...a, outcome, completionTime, ...(reason && { reason }), ...(message && { message: cap(message) }) }
        : a,
    ),
  };
}

export interface FailedAttempt {
  attemptId: string;
  /** attempts[].reason: AgentError, AgentUnavailable, PodGone. */
  attemptReason: string;
  message: string;
  /** The Delegation's reason if this was its last attempt. */
  terminalReason: DelegationReason;
  maxAttempts: number;
  now: Date;
  /** When the next attempt would start, and the Delegation's deadline (epoch ms). */
  nextTryAt: number;
  deadline: number;
}

export type AttemptFailure =
  | { retry: true; status: DelegationStatus }
  | { retry: false; status: DelegationStatus; ending: Ending };

/** A failed attempt: retry while attempts and time remain, else the Delegation fails. */
export function attemptFailed(status: DelegationStatus, f: FailedAttempt): AttemptFailure {
  const closed = attemptEnded(status, f.attemptId, "Failed", f.now, f.attemptReason, f.message);
  const counted = countedAttempts(closed);
  if (counted >= f.maxAttempts || f.nextTryAt >= f.deadline) {
    const why = counted >= f.maxAttempts ? `after ${counted} attempts` : "and the deadline is near";
    return { retry: false, status: closed, ending: failed(f.terminalReason, `${f.message} (${why})`) };
  }
  const next: DelegationStatus = {
    ...closed,
    phase: "Running",
    startTime: closed.startTime ?? closed.attempts?.[0]?.startTime,
    message: cap(`attempt ${counted} failed: ${f.message}; retrying`),
  };
  delete next.reason;
  return { retry: true, status: withPhaseConditions(next, f.now) };
}

/** A Running attempt whose operator is gone: it ended Interrupted, so another may claim the Delegation. */
export function interrupted(status: DelegationStatus, now: Date): DelegationStatus {
  const attempts = status.attempts ?? [];
  const completionTime = metaTime(now);
  return {
    ...status,
    attempts: attempts.map((a, i) =>
      i === attempts.length - 1
        ? {
            ...a,
            outcome: "Failed",
            reason: "Interrupted",
            message: "the operator that ran this attempt stopped",
            completionTime,
          }
        : a,
    ),
  };
}

/** True when this status records a Running attempt (one a previous leader may have left). */
export function hasRunningAttempt(status: DelegationStatus | undefined): boolean {
  const last = status?.attempts?.at(-1);
  return status?.phase === "Running" && last?.outcome === "Running";
}

/** A pipeline parent while its stages run. Undefined when nothing would change. */
export function stagesRunning(
  status: DelegationStatus | undefined,
  stages: DelegationStatus["stages"],
  now: Date,
): DelegationStatus | undefined {
  if (status?.phase === "Running" && JSON.stringify(status.stages) === JSON.stringify(stages)) return undefined;
  const next: DelegationStatus = { ...status, phase: "Running", startTime: status?.startTime ?? metaTime(now), stages };
  delete next.reason;
  delete next.message;
  return withPhaseConditions(next, now);
}

/** How a Delegation ends. */
export interface Ending {
  phase: "Succeeded" | "Failed";
  reason: DelegationReason;
  message?: string | undefined;
}

export const failed = (reason: DelegationReason, message: string): Ending => ({ phase: "Failed", reason, message });
export const cancelled = (message = CANCELLED_BY_ANNOTATION): Ending => failed("Cancelled", message);

/** What a finished Delegation carries besides its phase. */
export interface Outputs {
  result?: string;
  resultRef?: DelegationStatus["resultRef"];
  usage?: ChatUsage | undefined;
  stages?: DelegationStatus["stages"];
  agent?: string | undefined;
}

/** The terminal status, with its Complete or Failed condition. */
export function finished(
  status: DelegationStatus | undefined,
  ending: Ending,
  now: Date,
  generation: number | undefined,
  outputs: Outputs = {},
): DelegationStatus {
  const next: DelegationStatus = { ...status, phase: ending.phase, reason: ending.reason };
  if (ending.message) next.message = cap(ending.message);
  else delete next.message;
  if (outputs.agent) next.agent = outputs.agent;
  if (outputs.result !== undefined) next.result = outputs.result;
  if (outputs.resultRef) next.resultRef = outputs.resultRef;
  if (outputs.usage) next.usage = outputs.usage;
  if (outputs.stages) next.stages = outputs.stages;
  next.completionTime = metaTime(now);
  next.startTime ??= status?.attempts?.[0]?.startTime ?? metaTime(now);
  next.duration = shortDuration(Date.parse(next.completionTime) - Date.parse(next.startTime));
  const observed = withPhaseConditions(next, now, generation ?? SPEC_GENERATION);
  return {
    ...observed,
    conditions: setCondition(
      observed.conditions,
      {
        type: ending.phase === "Succeeded" ? "Complete" : "Failed",
        status: "True",
        reason: ending.reason,
        message: next.message ?? (ending.phase === "Succeeded" ? "the agent answered" : ending.reason),
        observedGeneration: observed.observedGeneration,
      },
      now,
    ),
  };
}
