/**
 * GitOps health on real objects: each kind is driven through its states by the operator's
 * controllers, and kstatus (what Flux reads) and the Argo CD Lua checks in deploy/argocd/health
 * must both read each state right. Delegation states are asserted in delegation-controller.test.ts.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  argoHealth,
  condition,
  eventually,
  freePorts,
  gitopsHealthBinary,
  installCrds,
  kstatus,
  kubectl,
  kubectlIn,
  kubectlOk,
  type Obj,
  type OperatorProcess,
  startOperator,
  uniqueName,
} from "../../harness/index.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("gitops");
let operator: OperatorProcess;
const { k, getJson, applyObj } = kubectlIn(kubeconfig, ns);

const agent = (name: string, spec: Obj = {}): Obj => ({
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "Agent",
  metadata: { name },
  spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" }, ...spec },
});

/** Waits until the operator has observed the object's generation and its condition reads as given. */
async function observed(ref: string, type: string, status: string, reason?: string) {
  let last: Obj | undefined;
  try {
    return await eventually(`${ref} ${type}=${status}${reason ? ` (${reason})` : ""}`, async () => {
      last = await getJson(ref);
      const c = condition(last, type);
      const current = last?.status?.observedGeneration === last?.metadata?.generation;
      return current && c?.status === status && (!reason || c.reason === reason) ? last : undefined;
    });
  } catch (error) {
    // The status it had instead says why.
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last?.status)}`, { cause: error });
  }
}

async function expectVerdicts(obj: Obj, flux: string, argo: string, message?: RegExp) {
  const [ks, hs] = await Promise.all([kstatus(obj), argoHealth(obj)]);
  expect({ kstatus: ks.status, argo: hs.status }).toEqual({ kstatus: flux, argo });
  if (message) {
    expect(ks.message).toMatch(message);
    expect(hs.message).toMatch(message);
  }
}

beforeAll(async () => {
  await gitopsHealthBinary();
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  const [port] = await freePorts(1, "127.0.0.1");
  operator = await startOperator(kubeconfig, `${ns}-op`, [
    `--namespace=${ns}`,
    `--leader-election-namespace=${ns}`,
    // The teams' NetworkPolicies name the endpoint's port: the harness's default, port 0, is refused.
    `--delegation-bind-address=127.0.0.1:${port}`,
  ]);
}, 600_000);

afterAll(async () => {
  await operator?.stop();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("GitOps health", () => {
  it("an Agent: InProgress while it rolls out, Current when Ready, Failed while its Secret is missing", async () => {
    await applyObj(agent("solo"));
    const first = await eventually("solo's first status", async () => {
      const a = await getJson("agent/solo");
      return a?.status?.conditions ? a : undefined;
    });
    // Set on the first reconcile: all three kstatus conditions, at the observed generation.
    for (const type of ["Ready", "Reconciling", "Stalled"]) {
      expect(condition(first, type)?.observedGeneration, type).toBe(first.metadata.generation);
    }
    if (condition(first, "Ready")?.status !== "True") await expectVerdicts(first, "InProgress", "Progressing");

    const ready = await observed("agent/solo", "Ready", "True");
    expect(condition(ready, "Reconciling")?.status).toBe("False");
    await expectVerdicts(ready, "Current", "Healthy");

    // A spec change the operator has not seen yet reads InProgress to both.
    const stale = structuredClone(ready);
    stale.metadata.generation += 1;
    await expectVerdicts(stale, "InProgress", "Progressing", /generation/);

    await applyObj(agent("solo", { credentials: { secretRef: { name: "missing-keys" } } }));
    const stalled = await observed("agent/solo", "Stalled", "True", "CredentialsSecretNotFound");
    expect(condition(stalled, "Reconciling")?.status).toBe("False");
    await expectVerdicts(stalled, "Failed", "Degraded", /missing-keys/);

    await k("create", "secret", "generic", "missing-keys", "--from-literal=OPENAI_API_KEY=x");
    const healed = await observed("agent/solo", "Ready", "True");
    expect(condition(healed, "Stalled")?.status).toBe("False");
    await expectVerdicts(healed, "Current", "Healthy");
  });

  it("an AgentTeam: InProgress while a member is missing, Current when all are Ready, Failed on a name conflict", async () => {
    const team = (name: string): Obj => ({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "AgentTeam",
      metadata: { name },
      spec: { pattern: "hubAndSpoke", lead: "boss", members: [{ agent: "helper", role: "Helps" }] },
    });
    await applyObj(agent("boss"));
    await applyObj(team("crew"));
    const waiting = await observed("agentteam/crew", "Reconciling", "True", "MembersMissing");
    await expectVerdicts(waiting, "InProgress", "Progressing", /helper/);

    await applyObj(agent("helper"));
    const ready = await observed("agentteam/crew", "Ready", "True");
    expect(condition(ready, "Stalled")?.status).toBe("False");
    await expectVerdicts(ready, "Current", "Healthy");

    // A NetworkPolicy the team would own, made by someone else: only a person can resolve it.
    await applyObj({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "other-gateways" },
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    });
    await applyObj(team("other"));
    const conflict = await observed("agentteam/other", "Stalled", "True", "NameConflict");
    await expectVerdicts(conflict, "Failed", "Degraded", /other-gateways/);
  });
});
