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
