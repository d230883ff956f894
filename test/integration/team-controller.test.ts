/**
 * The AgentTeam controller and the Agent controller's team view, in process, against the real API
 * server (kwok makes the pods ready): team status, NetworkPolicies, and the lead's roster, skill and
 * MCP server.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  condition,
  eventually,
  installCrds,
  kubectl,
  kubectlIn,
  kubectlOk,
  type Obj,
  uniqueName,
} from "../../harness/index.ts";
import { agentReconciler } from "../../src/agent/reconcile.ts";
import { teamWatches } from "../../src/agent/watches.ts";
import { API_VERSION, GROUP, VERSION } from "../../src/api/meta.ts";
import { OWNED_BY_AGENT } from "../../src/operator/operator.ts";
import { KubeClient } from "../../src/runtime/client.ts";
import { Controller } from "../../src/runtime/controller.ts";
import { EventRecorder } from "../../src/runtime/events.ts";
import { Informer } from "../../src/runtime/informer.ts";
import type { ControllerMetrics, ReconcileOutcome } from "../../src/runtime/metrics.ts";
import type { GroupVersionResource } from "../../src/runtime/resource.ts";
import { createTeamController } from "../../src/team/controller.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("teams");
const MANAGED = "app.kubernetes.io/managed-by=clawcrew";
const DELEGATION_URL = "http://clawcrew-delegation.clawcrew-system.svc.cluster.local:8082/mcp";
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

const { k, getJson, applyObj, mergePatch } = kubectlIn(kubeconfig, ns);

function agent(name: string, spec: Obj = {}): Obj {
  return {
    apiVersion: API_VERSION,
    kind: "Agent",
    metadata: { name },
    spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" }, ...spec },
  };
}

const company = {
  apiVersion: API_VERSION,
  kind: "AgentTeam",
  metadata: { name: "company" },
  spec: {
    pattern: "hubAndSpoke",
    lead: "ceo",
    members: [
      { agent: "researcher", role: "Finds and checks sources" },
      { agent: "writer", role: "Writes the answer" },
    ],
  },
};

/** Waits until the team's status is current and `check` accepts it. */
function waitForTeam(description: string, check: (team: Obj) => boolean, timeoutMs = 90_000): Promise<Obj> {
  return eventually(
    `team company: ${description}`,
    async () => {
      const team = await getJson("agentteam/company");
      const current = team?.status?.observedGeneration === team?.metadata?.generation;
      return team && current && check(team) ? team : undefined;
    },
    { timeoutMs },
  );
}

const policyNames = async () => {
  const out = JSON.parse(await k("get", "networkpolicies", "-l", "clawcrew.io/team=company", "-o", "json"));
  return (out.items as Obj[]).map((p) => p.metadata.name as string).sort();
};

const outcomes: ReconcileOutcome[] = [];
const teamMetrics: ControllerMetrics = {
  reconcileCompleted: (_labels, outcome) => {
    outcomes.push(outcome);
  },
  queueDepth() {},
  queueRetried() {},
  queueLatency() {},
  activeWorkers() {},
};

let client: KubeClient;
const informers: Informer<KubernetesObject>[] = [];
const controllers: Controller[] = [];

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  client = KubeClient.load({ kubeconfig });
  const informer = (resource: GroupVersionResource, labelSelector?: string) => {
    const i = new Informer<KubernetesObject>({
      client,
      resource,
      namespace: ns,
      ...(labelSelector && { labelSelector }),
      logger,
    });
    informers.push(i);
    return i;
  };
  const agents = informer({ group: GROUP, version: VERSION, plural: "agents" });
  const teams = informer({ group: GROUP, version: VERSION, plural: "agentteams" });
  const networkPolicies = informer({ group: "networking.k8s.io", version: "v1", plural: "networkpolicies" }, MANAGED);
  const owned = OWNED_BY_AGENT.map((resource) => ({ informer: informer(resource, MANAGED) }));
  const events = new EventRecorder({ client, logger });

  controllers.push(
    new Controller({
      name: "agent",
      forKind: { apiVersion: API_VERSION, kind: "Agent" },
      primary: agents,
      owns: owned,
      watches: teamWatches(teams, agents),
      reconcile: agentReconciler({ client, agents, events, teams, delegationEndpointUrl: DELEGATION_URL }),
      concurrency: 2,
      logger,
    }),
    createTeamController({
      client,
      events,
      metrics: teamMetrics,
      logger,
      concurrency: 2,
      agents,
      teams,
      networkPolicies,
      operatorNamespace: "clawcrew-system",
      operatorPodLabels: { "app.kubernetes.io/name": "clawcrew", "app.kubernetes.io/component": "operator" },
      delegationPort: 8082,
    }),
  );
  for (const i of informers) i.start();
  await Promise.all(controllers.map((c) => c.start()));
});

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop({ graceMs: 5_000 })));
  await Promise.all(informers.map((i) => i.stop()));
  client?.close();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("AgentTeam controller", () => {
  it("names a missing Agent in Degraded without an error loop, and heals when it appears", async () => {
    await applyObj(agent("ceo", { instructions: "Run the company." }));
    await applyObj(agent("researcher", { capabilities: ["research", "web"] }));
    await applyObj(company);

    const degraded = await waitForTeam(
      "Degraded because writer is missing",
      (t) =>
        condition(t, "Degraded")?.reason === "MembersMissing" &&
        t.status.members?.find((m: Obj) => m.agent === "researcher")?.ready === true &&
        t.status.members?.find((m: Obj) => m.agent === "ceo")?.ready === true,
    );
    expect(condition(degraded, "Degraded")).toMatchObject({
      status: "True",
      message: "Agents not found: writer",
      observedGeneration: degraded.metadata.generation,
    });
    expect(condition(degraded, "Ready")).toMatchObject({ status: "False", reason: "MembersMissing" });
    expect(degraded.status.readyMembers).toBe("2/3");
    expect(degraded.status.members).toContainEqual({ agent: "writer", ready: false, message: "Agent not found" });
    expect(outcomes.filter((o) => o !== "success")).toEqual([]);

    await applyObj(agent("writer"));
    const healed = await waitForTeam("Ready", (t) => condition(t, "Ready")?.status === "True");
    expect(healed.status.readyMembers).toBe("3/3");
    expect(condition(healed, "Ready")).toMatchObject({ reason: "AllMembersReady" });
    expect(condition(healed, "Degraded")).toMatchObject({ status: "False", reason: "AsExpected" });
    for (const c of healed.status.conditions as Obj[]) expect(c.observedGeneration).toBe(healed.metadata.generation);
    expect(outcomes.filter((o) => o !== "success")).toEqual([]);
  });

  it("applies NetworkPolicies with networkIsolation and removes them without it", async () => {
    const names = await eventually("the team's NetworkPolicies", async () => {
      const found = await policyNames();
      return found.length === 2 ? found : undefined;
    });
    expect(names).toEqual(["company-delegators", "company-gateways"]);
    const team = (await getJson("agentteam/company"))!;
    const gateways = (await getJson("networkpolicy/company-gateways"))!;
    expect(gateways.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "AgentTeam", name: "company", uid: team.metadata.uid, controller: true }),
    ]);
    expect(gateways.spec.podSelector.matchExpressions[0].values).toEqual(["ceo", "researcher", "writer"]);
    expect(gateways.spec.ingress[0].ports).toEqual([{ protocol: "TCP", port: 18789 }]);
    const delegators = (await getJson("networkpolicy/company-delegators"))!;
    expect(delegators.spec.podSelector.matchExpressions[0].values).toEqual(["ceo"]);
    expect(delegators.spec.egress[0].ports).toEqual([{ protocol: "TCP", port: 8082 }]);

    // An egress rule the API server refuses is reported, not retried in a loop; the last good policy stays.
    const errorsBefore = outcomes.filter((o) => o === "error").length;
    await mergePatch("agentteam/company", { spec: { networkEgress: [{ toEverywhere: true }] } });
    const rejected = await waitForTeam(
      "Degraded because of the egress rule",
      (t) => condition(t, "Degraded")?.reason === "NetworkPolicyRejected",
    );
    expect(condition(rejected, "Degraded")!.message).toMatch(
      /^NetworkPolicy company-gateways rejected: .*toEverywhere/,
    );
    expect(condition(rejected, "Ready")!.status).toBe("True");
    expect(outcomes.filter((o) => o === "error").length).toBe(errorsBefore);
    expect((await getJson("networkpolicy/company-gateways"))!.spec.egress).toEqual(gateways.spec.egress);
    await mergePatch("agentteam/company", { spec: { networkEgress: null } });
    await waitForTeam("healthy again", (t) => condition(t, "Degraded")?.status === "False");

    await mergePatch("agentteam/company", { spec: { networkIsolation: false } });
    await eventually("the NetworkPolicies to go", async () => ((await policyNames()).length === 0 ? true : undefined));

    await mergePatch("agentteam/company", { spec: { networkIsolation: true } });
    await eventually("the NetworkPolicies to come back", async () =>
      (await policyNames()).length === 2 ? true : undefined,
    );
  });
});

describe("the lead's team view", () => {
  it("puts the roster, the skill and the MCP server into the lead's ConfigMap, and only the lead's", async () => {
    const cm = await eventually("ceo's ConfigMap with the delegation skill", async () => {
      const found = await getJson("configmap/ceo-config");
      const skill = found?.data?.["workspace__skills__clawcrew-delegation__SKILL.md"] as string | undefined;
      return skill?.includes("| writer |") ? found : undefined;
    });
    const skill = cm.data["workspace__skills__clawcrew-delegation__SKILL.md"] as string;
    expect(skill).toContain("name: clawcrew-delegation");
    expect(skill).toContain("| researcher | Finds and checks sources | research, web | The researcher. |");
    expect(skill).toContain("| writer | Writes the answer |  | The writer. |");
    expect(cm.data["workspace__AGENTS.md"]).toContain("Run the company.\n\n## Your team (generated by clawcrew)");
    const config = JSON.parse(cm.data["openclaw.json"]);
    expect(config.mcp.servers.clawcrew).toMatchObject({
      url: DELEGATION_URL,
      transport: "streamable-http",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
      headers: { Authorization: "Bearer ${CLAWCREW_DELEGATION_TOKEN}" },
    });
    const ceo = await eventually("ceo's status to carry the config hash of its ConfigMap", async () => {
      const found = await getJson("agent/ceo");
      const deploy = await getJson("deployment/ceo");
      const hash = found?.status?.configHash;
      return hash && deploy?.spec.template.metadata.annotations["clawcrew.io/config-hash"] === hash ? found : undefined;
    });
    expect(condition(ceo, "ConfigValid")?.status).toBe("True");
    const deploy = (await getJson("deployment/ceo"))!;
    expect(deploy.spec.template.metadata.labels["clawcrew.io/delegator"]).toBe("true");
    // The lead's pods get its delegation token, and the MCP client sends that, never the gateway token.
    const env = deploy.spec.template.spec.containers[0].env as { name: string; valueFrom?: unknown }[];
    expect(env.find((e) => e.name === "CLAWCREW_DELEGATION_TOKEN")?.valueFrom).toEqual({
      secretKeyRef: { name: "ceo-token", key: "delegation-token" },
    });

    const member = (await getJson("configmap/researcher-config"))!;
    expect(member.data["workspace__skills__clawcrew-delegation__SKILL.md"]).toBeUndefined();
    expect(JSON.parse(member.data["openclaw.json"]).mcp).toBeUndefined();
    const memberDeploy = (await getJson("deployment/researcher"))!;
    expect(memberDeploy.spec.template.metadata.labels["clawcrew.io/delegator"]).toBeUndefined();
    const memberEnv = memberDeploy.spec.template.spec.containers[0].env as { name: string }[];
    expect(memberEnv.map((e) => e.name)).not.toContain("CLAWCREW_DELEGATION_TOKEN");
  });

  it("rolls the lead when a member's description changes", async () => {
    const before = (await getJson("agent/ceo"))!.status.configHash as string;
    await mergePatch("agent/writer", { spec: { description: "Writes crisp answers." } });
    const after = await eventually("ceo's config hash to change", async () => {
      const hash = (await getJson("agent/ceo"))?.status?.configHash;
      return hash && hash !== before ? (hash as string) : undefined;
    });
    const deploy = await eventually("ceo's Deployment to roll", async () => {
      const found = await getJson("deployment/ceo");
      return found?.spec.template.metadata.annotations["clawcrew.io/config-hash"] === after ? found : undefined;
    });
    expect(deploy.metadata.generation).toBeGreaterThan(1);
    const cm = (await getJson("configmap/ceo-config"))!;
    expect(cm.data["workspace__skills__clawcrew-delegation__SKILL.md"]).toContain(
      "| writer | Writes the answer |  | Writes crisp answers. |",
    );
  });

  it("takes the team view away when the team is deleted", async () => {
    await k("delete", "agentteam/company");
    await eventually("ceo to lose its team view", async () => {
      const cm = await getJson("configmap/ceo-config");
      const deploy = await getJson("deployment/ceo");
      const gone =
        cm?.data &&
        cm.data["workspace__skills__clawcrew-delegation__SKILL.md"] === undefined &&
        !cm.data["openclaw.json"].includes('"mcp"');
      return gone && deploy?.spec.template.metadata.labels["clawcrew.io/delegator"] === undefined ? true : undefined;
    });
    expect((await getJson("configmap/ceo-config"))!.data["workspace__AGENTS.md"]).toBe("Run the company.");
  });
});
