/**
 * What a finished Delegation tells the metrics, read from the object its terminal write stored.
 * Counting happens once per Delegation, at the write that made it terminal (a conditional write
 * that only one process can win; docs/metrics.md): a leader that takes over counts only what it
 * finishes itself, never the finished objects it finds in its cache.
 */
import { ATTEMPT_REASONS, DELEGATION_REASONS, type Delegation } from "../api/delegation.ts";

/** The hook the terminal paths call; the operator's Prometheus registry implements it. */
export interface DelegationMetrics {
  /** `d` is the Delegation as its terminal write stored it. */
  finished(d: Delegation): void;
}

export const noopDelegationMetrics: DelegationMetrics = { finished() {} };

/** Reasons outside the known set (status.reason is free text in the CRD) count as Other: bounded labels. */
export const OTHER_REASON = "Other";

const delegationReasons: ReadonlySet<string> = new Set(DELEGATION_REASONS);
const attemptReasons: ReadonlySet<string> = new Set(ATTEMPT_REASONS);

export function reasonClass(reason: string | undefined, known: ReadonlySet<string> = delegationReasons): string {
  return reason && known.has(reason) ? reason : OTHER_REASON;
}

export interface FinishedDelegation {
  namespace: string;
  /** "" outside a team. */
  team: string;
  /** The Agent that did the task; "" when none was chosen (rejected, or a pipeline parent). */
  agent: string;
  /** The delegating Agent (spec.from); undefined for a person or script. */
  from: string | undefined;
  outcome: "Succeeded" | "Failed";
  /** One of DELEGATION_REASONS, or Other. */
  reason: string;
  /** Creation to completion (second resolution: the API's timestamps). */
  durationSeconds: number | undefined;
  /** Creation to the first attempt's start; undefined when no attempt started. */
  queueWaitSeconds: number | undefined;
  /** Ended attempts by outcome and reason class. */
  attempts: { outcome: "Succeeded" | "Failed"; reason: string }[];
  /**
   * Attempts after the first, by the reason the one before ended. A failover moved the work: it ran
   * on another pod than the attempt before, or followed one its operator left (Interrupted); a retry
   * ran again on the same pod. Each later attempt is one or the other.
   */
  retries: string[];
  failovers: string[];
  usage: { promptTokens: number; completionTokens: number } | undefined;
}

const seconds = (from: string | undefined, to: string | undefined): number | undefined => {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(0, ms / 1000) : undefined;
};

/** Undefined for a Delegation that is not finished. */
export function finishedDelegation(d: Delegation): FinishedDelegation | undefined {
  const status = d.status;
  const phase = status?.phase;
  if (phase !== "Succeeded" && phase !== "Failed") return undefined;
  const created = d.metadata.creationTimestamp as string | Date | undefined;
  const createdAt = created instanceof Date ? created.toISOString() : created;
  const attempts = status?.attempts ?? [];
  const ended = attempts.filter((a) => a.outcome !== "Running");
  const retries: string[] = [];
  const failovers: string[] = [];
  for (let i = 1; i < attempts.length; i++) {
    const before = attempts[i - 1]!;
    const why = reasonClass(before.reason, attemptReasons);
    if (before.reason === "Interrupted" || before.pod !== attempts[i]!.pod) failovers.push(why);
    else retries.push(why);
  }
  const usage = status?.usage;
  const counted = usage && !usage.unknown && (usage.promptTokens !== undefined || usage.completionTokens !== undefined);
  return {
    namespace: d.metadata.namespace ?? "",
    team: d.spec.team ?? "",
    agent: status?.agent ?? d.spec.to ?? "",
    from: d.spec.from,
    outcome: phase,
    reason: reasonClass(status?.reason),
    durationSeconds: seconds(createdAt, status?.completionTime),
    queueWaitSeconds: seconds(createdAt, attempts[0]?.startTime),
    attempts: ended.map((a) => ({
      outcome: a.outcome === "Succeeded" ? "Succeeded" : "Failed",
      reason: a.outcome === "Succeeded" ? "Completed" : reasonClass(a.reason, attemptReasons),
    })),
    retries,
    failovers,
    usage: counted
      ? { promptTokens: usage.promptTokens ?? 0, completionTokens: usage.completionTokens ?? 0 }
      : undefined,
  };
}
