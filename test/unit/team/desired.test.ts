import { describe, expect, it } from "vitest";
import { AgentTeam } from "../../../src/api/team.ts";
import { DEFAULT_AGENT_EGRESS, type NetworkOptions, networkPolicies } from "../../../src/team/desired.ts";

function team(spec: Record<string, unknown>, name = "company"): AgentTeam {
  return AgentTeam.parse({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name, namespace: "ns", uid: "team-uid", generation: 1 },
    spec,
  });
}

const opts: NetworkOptions = {
  operatorNamespace: "clawcrew-system",
  operatorPodLabels: { "app.kubernetes.io/name": "clawcrew", "app.kubernetes.io/component": "operator" },
  delegationPort: 8082,
};
const operatorPeer = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "clawcrew-system" } },
  podSelector: { matchLabels: opts.operatorPodLabels },
};
const hub = { pattern: "hubAndSpoke", lead: "ceo", members: [{ agent: "researcher" }, { agent: "writer" }] };

describe("networkPolicies", () => {
  it("compiles a hub-and-spoke team into gateway and delegator policies owned by the team", () => {
    const [gateways, delegators, ...rest] = networkPolicies(team(hub), opts);
    expect(rest).toEqual([]);
    for (const p of [gateways!, delegators!]) {
      expect(p.metadata!.namespace).toBe("ns");
      expect(p.metadata!.labels).toMatchObject({
        "clawcrew.io/team": "company",
        "app.kubernetes.io/managed-by": "clawcrew",
      });
      expect(p.metadata!.ownerReferences).toEqual([
        {
          apiVersion: "clawcrew.io/v1alpha1",
          kind: "AgentTeam",
          name: "company",
          uid: "team-uid",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    expect(gateways).toMatchObject({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "company-gateways" },
      spec: {
        podSelector: {
          matchExpressions: [{ key: "clawcrew.io/agent", operator: "In", values: ["ceo", "researcher", "writer"] }],
        },
        policyTypes: ["Ingress", "Egress"],
        ingress: [{ from: [operatorPeer], ports: [{ protocol: "TCP", port: 18789 }] }],
        egress: DEFAULT_AGENT_EGRESS,
      },
    });
    expect(delegators).toEqual(
      expect.objectContaining({
        metadata: expect.objectContaining({ name: "company-delegators" }),
        spec: {
          podSelector: { matchExpressions: [{ key: "clawcrew.io/agent", operator: "In", values: ["ceo"] }] },
          policyTypes: ["Egress"],
          egress: [{ to: [operatorPeer], ports: [{ protocol: "TCP", port: 8082 }] }],
        },
      }),
    );
  });

  it("the default egress allows DNS to kube-dns and HTTPS anywhere", () => {
    expect(DEFAULT_AGENT_EGRESS).toEqual([
      {
        to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
    ]);
  });

  it("spec.networkEgress replaces the operator's egress, which replaces the default", () => {
    const custom = [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ protocol: "TCP", port: 8000 }] }];
    const withTeamEgress = networkPolicies(team({ ...hub, networkEgress: custom }), opts)[0]!;
    expect(withTeamEgress.spec!.egress).toEqual(custom);
    const denyAll = networkPolicies(team({ ...hub, networkEgress: [] }), opts)[0]!;
    expect(denyAll.spec!.egress).toEqual([]);
    const operatorDefault = [{ ports: [{ protocol: "TCP", port: 443 }] }];
    const withOperator = networkPolicies(team(hub), { ...opts, agentEgress: operatorDefault })[0]!;
    expect(withOperator.spec!.egress).toEqual(operatorDefault);
  });

  it("gives a pipeline without lead no delegator policy, and a swarm with lead one", () => {
    const pipeline = networkPolicies(team({ pattern: "pipeline", stages: ["a", "b"] }), opts);
    expect(pipeline.map((p) => p.metadata!.name)).toEqual(["company-gateways"]);
    const swarm = networkPolicies(team({ pattern: "swarm", lead: "boss", members: [{ agent: "w" }] }), opts);
    expect(swarm.map((p) => p.metadata!.name)).toEqual(["company-gateways", "company-delegators"]);
    expect(swarm[1]!.spec!.podSelector!.matchExpressions![0]!.values).toEqual(["boss"]);
  });

  it("wants none without networkIsolation", () => {
    expect(networkPolicies(team({ ...hub, networkIsolation: false }), opts)).toEqual([]);
  });

  it("keeps names within 63 characters for a 50-character team", () => {
    const long = "t".repeat(50);
    for (const p of networkPolicies(team(hub, long), opts)) expect(p.metadata!.name!.length).toBeLessThanOrEqual(63);
  });
});
