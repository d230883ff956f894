/**
 * Admission of a new Delegation against its team's topology, once. The delegation endpoint admits
 * the Delegations it creates before it creates them, and records its decision (the agents the
 * Delegation may go to) in an annotation that only the operator may set; Delegations made with
 * kubectl are admitted here.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation, DelegationReason } from "../api/delegation.ts";
import { ANNOTATION_ADMITTED } from "../api/labels.ts";
import { DELEGATION_KIND } from "../api/registry.ts";
import type { AgentTeam } from "../api/team.ts";
import type { Informer } from "../runtime/informer.ts";
import { keyOf } from "../runtime/store.ts";
import { parseAgent, teamsInNamespace } from "../team/lookup.ts";
import { authorize } from "./authorize.ts";
import type { Clock } from "./clock.ts";
import { controllerDelegationOwner, creationTime } from "./delegation-object.ts";
import type { Admission } from "./dispatcher-deps.ts";
import { failed } from "./status.ts";

/**
 * How long after its creation a Delegation waits for its AgentTeam, or its parent, to appear before
 * it is rejected: applied together (a directory, GitOps), they may reach our cache after it.
 */
export const MISSING_REFERENCE_GRACE_MS = 30_000;
const MISSING_REFERENCE_RETRY_MS = 1_000;

export interface AdmissionSources {
  agents: Informer<KubernetesObject>;
  teams: Informer<KubernetesObject>;
  delegations: Informer<KubernetesObject>;
  clock: Clock;
}

/** The endpoint's recorded decision, if it made this Delegation: comma-separated agents, best first. */
export function recordedCandidates(d: Delegation): string[] | undefined {
  const recorded = d.metadata.annotations?.[ANNOTATION_ADMITTED];
  if (recorded === undefined || !d.spec.from) return undefined;
  return recorded.split(",").filter(Boolean);
}

export function admit(d: Delegation, team: AgentTeam | undefined, sources: AdmissionSources): Admission {
  // Started before (by us or a previous leader): admitted then.
  if (d.status?.phase) return { admitted: true };
  const ns = d.metadata.namespace ?? "";
  const delegation = (name: string) => DELEGATION_KIND.lookup(sources.delegations, ns, name);
  const owner = controllerDelegationOwner(d);
  // A pipeline stage: its parent was admitted, and made it.
  if (owner && delegation(owner.name)?.metadata.uid === owner.uid) return { admitted: true };
  const recorded = recordedCandidates(d);
  if (recorded) return { admitted: true, candidates: recorded };
  const now = sources.clock.now();
  const young = now - creationTime(d, now) < MISSING_REFERENCE_GRACE_MS;
  if (d.spec.team && !team) {
    if (young) return { admitted: false, retryAfterMs: MISSING_REFERENCE_RETRY_MS };
    return { admitted: false, ending: failed("Rejected", `AgentTeam ${d.spec.team} not found`) };
  }
  const verdict = authorize({
    caller: d.spec.from,
    team: d.spec.team,
    to: d.spec.to,
    capability: d.spec.capability,
    parent: d.spec.parent,
    teams: teamsInNamespace(sources.teams, ns),
    agent: (name) => parseAgent(sources.agents.get(keyOf({ namespace: ns, name }))),
    delegation,
  });
  if (!verdict.ok) {
    if (verdict.missing === "parent" && young) return { admitted: false, retryAfterMs: MISSING_REFERENCE_RETRY_MS };
    const reason: DelegationReason = verdict.missing === "agent" ? "AgentUnavailable" : "Rejected";
    return { admitted: false, ending: failed(reason, `${verdict.code}: ${verdict.message}`) };
  }
  return { admitted: true, candidates: verdict.candidates };
}
