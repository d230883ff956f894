/** The effective limits of one Delegation: its spec, else its team's policy, else the built-in defaults. */
import type { Agent } from "../api/agent.ts";
import type { Delegation } from "../api/delegation.ts";
import type { AgentTeam } from "../api/team.ts";
import { creationTime } from "./delegation-object.ts";

export const DEFAULT_TIMEOUT_SECONDS = 600;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_TTL_SECONDS = 86_400;
export const DEFAULT_MAX_DEPTH = 3;

export interface EffectivePolicy {
  timeoutMs: number;
  /** creationTimestamp + timeout: the clock covers the queue and every attempt, and survives restarts. */
  deadline: Date;
  maxAttempts: number;
  ttlSeconds: number;
  maxDepth: number;
  /** Set when the deadline is its parent's, earlier than its own: the parent that bounds it. */
  boundByParent?: string;
}

/** A sub-task cannot outlive the Delegation it is part of: its deadline is at most its parent's. */
export function withinParent(policy: EffectivePolicy, parent: string, parentDeadline: Date): EffectivePolicy {
  const cut = parentDeadline.getTime() - policy.deadline.getTime();
  if (cut >= 0) return policy;
  return {
    ...policy,
    timeoutMs: Math.max(0, policy.timeoutMs + cut),
    deadline: parentDeadline,
    boundByParent: parent,
  };
}

/** "timed out after 30 s", and whose deadline it was when a parent's. */
export function timedOut(policy: EffectivePolicy, suffix = ""): string {
  const bound = policy.boundByParent ? ` (the deadline of its parent Delegation ${policy.boundByParent})` : "";
  return `timed out after ${Math.round(policy.timeoutMs / 1000)} s${suffix}${bound}`;
}

/**
 * `agent` only matters without a team: then the target Agent's `timeoutSeconds` is the default
 * timeout. `now` stands in for a missing creationTimestamp (an object not read from the API).
 */
export function effectivePolicy(
  d: Delegation,
  team?: AgentTeam,
  agent?: Agent,
  now: number = Date.now(),
): EffectivePolicy {
  const policy = team?.spec.delegation;
  const timeoutSeconds =
    d.spec.timeoutSeconds ??
    policy?.defaultTimeoutSeconds ??
    (team ? undefined : agent?.spec.timeoutSeconds) ??
    DEFAULT_TIMEOUT_SECONDS;
  const timeoutMs = timeoutSeconds * 1000;
  return {
    timeoutMs,
    deadline: new Date(creationTime(d, now) + timeoutMs),
    maxAttempts: d.spec.maxAttempts ?? policy?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    ttlSeconds: d.spec.ttlSecondsAfterFinished ?? policy?.ttlSecondsAfterFinished ?? DEFAULT_TTL_SECONDS,
    maxDepth: policy?.maxDepth ?? DEFAULT_MAX_DEPTH,
  };
}
