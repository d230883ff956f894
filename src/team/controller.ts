/** The AgentTeam controller: its primary informer, the NetworkPolicies it owns, and the Agents it watches. */
import type { KubernetesObject, V1NetworkPolicyEgressRule } from "@kubernetes/client-node";
import { API_VERSION } from "../api/meta.ts";
import type { KubeClient } from "../runtime/client.ts";
import { Controller, type Request } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { ControllerMetrics } from "../runtime/metrics.ts";
import { agentsNamedBy } from "./lookup.ts";
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
  networkPolicies: Informer<KubernetesObject>;
  /** Where the operator's pods run (--operator-namespace). */
  operatorNamespace: string;
  /** Labels selecting the operator's pods (--operator-pod-labels). */
  operatorPodLabels: Record<string, string>;
  /** The delegation endpoint's port. */
  delegationPort: number;
  /** Egress for agents of teams without spec.networkEgress (--agent-egress). Default DEFAULT_AGENT_EGRESS. */
  agentEgress?: V1NetworkPolicyEgressRule[];
}

/** Agent → requests for the teams of its namespace that name it (readiness changes count). */
export function teamsNamingAgent(teams: Informer<KubernetesObject>): (agent: KubernetesObject) => Request[] {
  return (agent) => {
    const namespace = agent.metadata?.namespace ?? "";
    const name = agent.metadata?.name ?? "";
    const out: Request[] = [];
    for (const team of teams.list()) {
      if (team.metadata?.namespace !== namespace) continue;
      if (agentsNamedBy(team).includes(name)) out.push({ namespace, name: team.metadata.name ?? "" });
    }
    return out;
  };
}

export function createTeamController(deps: TeamControllerDeps): Controller {
  return new Controller({
    name: "agentteam",
    forKind: { apiVersion: API_VERSION, kind: "AgentTeam" },
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
