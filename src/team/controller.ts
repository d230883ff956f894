/** The AgentTeam controller: its primary informer, the NetworkPolicies it owns, and the Agents it watches. */
import type { KubernetesObject, V1NetworkPolicy, V1NetworkPolicyEgressRule } from "@kubernetes/client-node";
import { addTeamIndexes, BY_AGENT } from "../api/indexes.ts";
import { AGENT_TEAM_KIND } from "../api/registry.ts";
import type { KubeClient } from "../runtime/client.ts";
import { Controller, type Request } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { ControllerMetrics } from "../runtime/metrics.ts";
import { type IndexedCache, objectKey, parseKey } from "../runtime/store.ts";
import { teamReconciler } from "./reconcile.ts";

export interface TeamControllerDeps {
  client: KubeClient;
  events: EventRecorder;
  metrics?: ControllerMetrics;
  logger?: Logger;
  concurrency?: number;
  /** Shared informers, created and started by the operator. */
  agents: Informer<KubernetesObject>;
  teams: Informer<KubernetesObject>;
  /** NetworkPolicies with app.kubernetes.io/managed-by=clawcrew. */
  networkPolicies: Informer<V1NetworkPolicy>;
  /** Where the operator's pods run (--operator-namespace). */
  operatorNamespace: string;
  /** Labels selecting the operator's pods (--operator-pod-labels). */
  operatorPodLabels: Record<string, string>;
  /** The delegation endpoint's port. */
  delegationPort: number;
  /** Egress for agents of teams without spec.networkEgress (--agent-egress). Default DEFAULT_AGENT_EGRESS. */
  agentEgress?: V1NetworkPolicyEgressRule[];
}

/** Agent → requests for the teams that name it (readiness changes count). Needs BY_AGENT on `teams`. */
export function teamsNamingAgent(teams: IndexedCache<KubernetesObject>): (agent: KubernetesObject) => Request[] {
  return (agent) => teams.indexKeys(BY_AGENT, objectKey(agent)).map(parseKey);
}

export function createTeamController(deps: TeamControllerDeps): Controller {
  addTeamIndexes(deps.teams);
  return new Controller({
    name: "agentteam",
    forKind: { apiVersion: AGENT_TEAM_KIND.apiVersion, kind: AGENT_TEAM_KIND.kind },
    primary: deps.teams,
    owns: [{ informer: deps.networkPolicies }],
    watches: [{ informer: deps.agents, map: teamsNamingAgent(deps.teams) }],
    reconcile: teamReconciler({
      client: deps.client,
      teams: deps.teams,
      agents: deps.agents,
      networkPolicies: deps.networkPolicies,
      events: deps.events,
      network: {
        operatorNamespace: deps.operatorNamespace,
        operatorPodLabels: deps.operatorPodLabels,
        delegationPort: deps.delegationPort,
        agentEgress: deps.agentEgress,
      },
    }),
    ...(deps.concurrency !== undefined && { concurrency: deps.concurrency }),
    ...(deps.metrics && { metrics: deps.metrics }),
    ...(deps.logger && { logger: deps.logger }),
  });
}
