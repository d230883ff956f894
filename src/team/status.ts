/** Computes an AgentTeam's status from its members' Agents. Pure. */
import type { Condition } from "../api/meta.ts";
import type { AgentTeamStatus } from "../api/team.ts";
import { type ConditionUpdate, setCondition } from "../runtime/conditions.ts";

/** What the reconciler saw of one agent the team names. */
export interface ObservedMember {
  agent: string;
  /** The Agent exists. */
  found: boolean;
  /** Its Ready condition is True. */
  ready: boolean;
  readyReplicas: number;
  /** spec.replicas */
  desiredReplicas: number;
  /** Its Ready condition's message, if any. */
  readyMessage?: string | undefined;
}

export interface ObservedTeam {
  generation: number;
  /** In teamAgents order. */
  members: ObservedMember[];
  /** The API server refused the team's NetworkPolicies (e.g. an invalid spec.networkEgress). */
  networkProblem?: string | undefined;
  /** A NetworkPolicy name is held by an object the team does not control: its isolation is missing. */
  networkConflict?: string | undefined;
}

export const MEMBER_NOT_FOUND = "Agent not found";
const MAX_MESSAGE = 1024;

function memberMessage(m: ObservedMember): string {
  if (!m.found) return MEMBER_NOT_FOUND;
  const replicas = `${m.readyReplicas}/${m.desiredReplicas} replicas ready`;
  if (m.ready) return replicas;
  return (m.readyMessage ? `Not ready: ${m.readyMessage}` : `Not ready: ${replicas}`).slice(0, MAX_MESSAGE);
}

/** "a, b, c" with at most `max` names, then "and N more". */
function nameList(names: string[], max = 10): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

export function teamStatus(previous: AgentTeamStatus | undefined, o: ObservedTeam, now = new Date()): AgentTeamStatus {
  const g = o.generation;
  const condition = (type: string, status: boolean, reason: string, message: string): ConditionUpdate => ({
    type,
    status: status ? "True" : "False",
    reason,
    message,
    observedGeneration: g,
  });
  const missing = o.members.filter((m) => !m.found);
  const notReady = o.members.filter((m) => m.found && !m.ready);
  const readyCount = o.members.filter((m) => m.ready).length;
  const total = o.members.length;
  const readyMembers = `${readyCount}/${total}`;

  const missingText = missing.length > 0 ? `Agents not found: ${nameList(missing.map((m) => m.agent))}` : "";
  const notReadyText =
    notReady.length > 0
      ? `Not ready: ${nameList(notReady.map((m) => `${m.agent} (${m.readyReplicas}/${m.desiredReplicas} replicas)`))}`
      : "";
  const problems = [missingText, notReadyText].filter(Boolean).join("; ");
  const reason = missing.length > 0 ? "MembersMissing" : "MembersNotReady";

  const updates: ConditionUpdate[] = [];
  const conflict = o.networkConflict?.slice(0, MAX_MESSAGE);
  if (conflict) updates.push(condition("Ready", false, "NameConflict", conflict));
  else if (problems) updates.push(condition("Ready", false, reason, problems));
  else updates.push(condition("Ready", true, "AllMembersReady", `${readyMembers} members ready`));

  const degraded = [problems, conflict, o.networkProblem].filter(Boolean).join("; ").slice(0, 4096);
  const degradedReason = problems ? reason : conflict ? "NameConflict" : "NetworkPolicyRejected";
  if (degraded) updates.push(condition("Degraded", true, degradedReason, degraded));
  else updates.push(condition("Degraded", false, "AsExpected", `${readyMembers} members ready`));

  // kstatus's abnormal-true pair: Stalled when only a person can fix it (a NetworkPolicy name held by
  // another object, or one the API server refused); Reconciling while members are missing or not ready.
  const stall = conflict
    ? { reason: "NameConflict", message: conflict }
    : o.networkProblem
      ? { reason: "NetworkPolicyRejected", message: o.networkProblem.slice(0, MAX_MESSAGE) }
      : undefined;
  if (stall) {
    updates.push(condition("Stalled", true, stall.reason, stall.message));
    updates.push(condition("Reconciling", false, "Stalled", stall.message));
  } else {
    updates.push(condition("Stalled", false, "AsExpected", `${readyMembers} members ready`));
    if (problems) updates.push(condition("Reconciling", true, reason, problems.slice(0, 4096)));
    else updates.push(condition("Reconciling", false, "AllMembersReady", `${readyMembers} members ready`));
  }

  let conditions: Condition[] = previous?.conditions ?? [];
  for (const update of updates) conditions = setCondition(conditions, update, now);
  return {
    observedGeneration: g,
    conditions,
    members: o.members.map((m) => ({
      agent: m.agent,
      ready: m.ready,
      ...(m.found && { readyReplicas: m.readyReplicas }),
      message: memberMessage(m),
    })),
    readyMembers,
  };
}
