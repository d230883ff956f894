/**
 * The AgentTeam reconciler: level-triggered and idempotent. It reads the team's Agents from the
 * cache into status, and applies (or removes) the NetworkPolicies compiled from the topology. It never
 * touches Agent-owned objects: a lead's roster is rendered by the Agent reconciler.
 *
 * A missing Agent is a status (Degraded, MembersMissing), not an error: the reconcile returns normally
 * and the Agent watch brings the team back when the Agent appears.
 */

import type { KubernetesObject, V1NetworkPolicy } from "@kubernetes/client-node";
import { AGENT_KIND, AGENT_TEAM_KIND, ObjectSchemaError } from "../api/registry.ts";
import type { AgentTeam, AgentTeamStatus } from "../api/team.ts";
import { applyStatusIfChanged, deleteIgnoringNotFound } from "../runtime/apply.ts";
import type { KubeClient } from "../runtime/client.ts";
import { findCondition } from "../runtime/conditions.ts";
import type { Reconciler } from "../runtime/controller.ts";
import { FieldValidationError, isInvalid } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import { applyControlled, BY_CONTROLLER, controllerUid, NotControlledError } from "../runtime/owned.ts";
import { keyOf } from "../runtime/store.ts";
import { type NetworkOptions, networkPolicies } from "./desired.ts";
import { type ObservedMember, teamStatus } from "./status.ts";
import { teamAgents } from "./topology.ts";

/** How often a team that does not match the schema is looked at again, besides watch events. */
export const INVALID_TEAM_RECHECK_MS = 15_000;

export interface TeamReconcilerDeps {
  client: KubeClient;
  teams: Informer<KubernetesObject>;
  agents: Informer<KubernetesObject>;
  /** NetworkPolicies labelled app.kubernetes.io/managed-by=clawcrew. */
  networkPolicies: Informer<V1NetworkPolicy>;
  events: EventRecorder;
  network: NetworkOptions;
}

function observeMember(agents: Informer<KubernetesObject>, namespace: string, name: string): ObservedMember {
  const obj = agents.get(keyOf({ namespace, name }));
  if (!obj || obj.metadata?.deletionTimestamp) {
    return { agent: name, found: false, ready: false, readyReplicas: 0, desiredReplicas: 0 };
  }
  const agent = AGENT_KIND.parseCached(obj);
  if (!agent)
    return {
      agent: name,
      found: true,
      ready: false,
      readyReplicas: 0,
      desiredReplicas: 0,
      readyMessage: "the Agent does not match the schema",
    };
  const ready = findCondition(agent.status?.conditions, "Ready");
  return {
    agent: name,
    found: true,
    ready: ready?.status === "True",
    readyReplicas: agent.status?.readyReplicas ?? 0,
    desiredReplicas: agent.spec.replicas,
    readyMessage: ready?.message,
  };
}

/** The team, or undefined after reporting why it does not match the schema. */
function parseTeam(raw: KubernetesObject, events: EventRecorder, logger: Logger): AgentTeam | undefined {
  try {
    return AGENT_TEAM_KIND.parse(raw);
  } catch (error) {
    if (!(error instanceof ObjectSchemaError)) throw error;
    // Admission validates every AgentTeam; this only happens with a CRD older than the operator.
    events.event(raw, "Warning", "InvalidSpec", error.details.slice(0, 1024));
    logger.warn({ problem: error.details }, "AgentTeam does not match the schema");
    return undefined;
  }
}

export function teamReconciler(deps: TeamReconcilerDeps): Reconciler {
  deps.networkPolicies.addIndexer(BY_CONTROLLER, controllerUid);
  return async (request, context) => {
    const { client } = deps;
    const { signal, logger } = context;
    const raw = deps.teams.get(keyOf(request));
    if (!raw || raw.metadata?.deletionTimestamp) return;
    const team = parseTeam(raw, deps.events, logger);
    if (!team) return { requeueAfter: INVALID_TEAM_RECHECK_MS };
    const previous = team.status;

    // NetworkPolicies: apply the wanted ones, then remove the ones this team owns and no longer wants.
    let networkProblem: string | undefined;
    const conflicts: string[] = [];
    const desired = networkPolicies(team, deps.network);
    for (const policy of desired) {
      try {
        await applyControlled<V1NetworkPolicy>(client, [policy], { signal });
      } catch (error) {
        if (error instanceof NotControlledError) conflicts.push(...error.conflicts);
        else if (error instanceof FieldValidationError || isInvalid(error)) {
          networkProblem = `NetworkPolicy ${policy.metadata!.name} rejected: ${(error as Error).message}`;
        } else throw error;
      }
    }
    const networkConflict = conflicts.length > 0 ? new NotControlledError(conflicts).message : undefined;
    const wanted = new Set(desired.map((p) => p.metadata!.name!));
    for (const existing of deps.networkPolicies.byIndex(BY_CONTROLLER, team.metadata.uid ?? "")) {
      const meta = existing.metadata!;
      if (wanted.has(meta.name ?? "")) continue;
      await deleteIgnoringNotFound(
        client,
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: meta.name, namespace: meta.namespace },
        },
        { signal, uid: meta.uid },
      );
    }

    const status = teamStatus(previous, {
      generation: team.metadata.generation ?? 0,
      members: teamAgents(team).map((name) => observeMember(deps.agents, request.namespace, name)),
      networkProblem,
      networkConflict,
    });
    recordTransitions(deps.events, raw, previous, status);
    await applyStatusIfChanged(
      client,
      {
        apiVersion: AGENT_TEAM_KIND.apiVersion,
        kind: AGENT_TEAM_KIND.kind,
        namespace: request.namespace,
        name: request.name,
      },
      previous,
      status,
      { signal },
    );
    return undefined;
  };
}

/** Events for what a person watching the team wants to know: members missing or not ready, recovery. */
function recordTransitions(
  events: EventRecorder,
  team: KubernetesObject,
  previous: AgentTeamStatus | undefined,
  next: AgentTeamStatus,
): void {
  const was = (type: string) => findCondition(previous?.conditions, type);
  const degraded = findCondition(next.conditions, "Degraded")!;
  const ready = findCondition(next.conditions, "Ready")!;
  if (
    degraded.status === "True" &&
    (was("Degraded")?.status !== "True" || was("Degraded")?.reason !== degraded.reason)
  ) {
    events.event(team, "Warning", degraded.reason, degraded.message);
  }
  if (degraded.status === "False" && was("Degraded")?.status === "True") {
    events.event(team, "Normal", "Recovered", degraded.message);
  }
  if (ready.status === "True" && was("Ready")?.status !== "True") events.event(team, "Normal", "Ready", ready.message);
}
