/**
 * NetworkPolicies compiled from a team's topology. Pure. Policies are additive, so an
 * agent in several teams gets the union of what they allow. The local cluster runs no CNI: these are
 * checked as objects, not enforced in tests.
 *
 * 1. `<team>-gateways` selects the team's agents: ingress to the gateway port only from the operator's
 *    pods; egress only what spec.networkEgress (else the operator's default) allows.
 * 2. `<team>-delegators` selects the team's delegators: egress to the operator's delegation port.
 * The operator's own side (its delegation port admits pods labelled clawcrew.io/delegator=true) is static,
 * in the chart.
 */
import type {
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1ObjectMeta,
} from "@kubernetes/client-node";
import { LABEL_AGENT } from "../api/labels.ts";
import { AGENT_TEAM_KIND } from "../api/registry.ts";
import type { AgentTeam } from "../api/team.ts";
import { GATEWAY_PORT } from "../openclaw/version.ts";
import { teamAgents } from "./topology.ts";
import { teamDelegators } from "./view.ts";

export const teamObjectNames = (team: string) => ({
  gatewaysPolicy: `${team}-gateways`,
  delegatorsPolicy: `${team}-delegators`,
});

/** The operator's default egress for agents: DNS to kube-dns anywhere, and HTTPS anywhere (LLM APIs). */
export const DEFAULT_AGENT_EGRESS: V1NetworkPolicyEgressRule[] = [
  {
    to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
    ports: [
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ],
  },
  { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
];

export interface NetworkOptions {
  /** Where the operator's pods run. */
  operatorNamespace: string;
  /** Labels that select the operator's pods (--operator-pod-labels). */
  operatorPodLabels: Record<string, string>;
  /** The operator's delegation endpoint port. */
  delegationPort: number;
  /** Egress of agents whose team sets no spec.networkEgress (--agent-egress). Default DEFAULT_AGENT_EGRESS. */
  agentEgress?: V1NetworkPolicyEgressRule[] | undefined;
}

/** The wire form is `from`; the client library's type calls it `_from`, and we send objects as they are. */
function ingressRule(from: V1NetworkPolicyPeer[], port: number): V1NetworkPolicyIngressRule {
  return { from, ports: [{ protocol: "TCP", port }] } as unknown as V1NetworkPolicyIngressRule;
}

function operatorPeer(opts: NetworkOptions): V1NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": opts.operatorNamespace } },
    podSelector: { matchLabels: { ...opts.operatorPodLabels } },
  };
}

function meta(team: AgentTeam, name: string): V1ObjectMeta {
  return {
    name,
    namespace: team.metadata.namespace!,
    labels: AGENT_TEAM_KIND.labels(team.metadata.name!),
    ownerReferences: [AGENT_TEAM_KIND.ownerReference(team)],
  };
}

/** The policies a team with networkIsolation wants; none without it. */
export function networkPolicies(team: AgentTeam, opts: NetworkOptions): V1NetworkPolicy[] {
  if (!team.spec.networkIsolation) return [];
  const name = team.metadata.name!;
  const names = teamObjectNames(name);
  const selectAgents = (agents: string[]) => ({
    matchExpressions: [{ key: LABEL_AGENT, operator: "In", values: agents }],
  });
  const egress = (team.spec.networkEgress as V1NetworkPolicyEgressRule[] | undefined) ?? opts.agentEgress;
  const policies: V1NetworkPolicy[] = [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(team, names.gatewaysPolicy),
      spec: {
        podSelector: selectAgents(teamAgents(team)),
        policyTypes: ["Ingress", "Egress"],
        ingress: [ingressRule([operatorPeer(opts)], GATEWAY_PORT)],
        egress: structuredClone(egress ?? DEFAULT_AGENT_EGRESS),
      },
    },
  ];
  const delegators = teamDelegators(team);
  if (delegators.length > 0) {
    policies.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(team, names.delegatorsPolicy),
      spec: {
        podSelector: selectAgents(delegators),
        policyTypes: ["Egress"],
        egress: [{ to: [operatorPeer(opts)], ports: [{ protocol: "TCP", port: opts.delegationPort }] }],
      },
    });
  }
  return policies;
}
