/**
 * The operator never takes over an object it did not create (docs/security.md, finding 1). Each case
 * puts someone else's object under a name the operator derives, then asserts that it is left exactly
 * as it was, that nothing else of the Agent or team was written, and that a condition and a Warning
 * Event name the object and who holds it. Runs the operator as a process against the real API server.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  condition,
  eventually,
  installCrds,
  kubectl,
  kubectlIn,
  kubectlOk,
  type Obj,
  type OperatorProcess,
  startOperator,
  uniqueName,
} from "../../harness/index.ts";
import type { Delegation } from "../../src/api/delegation.ts";
import { ConfigMapResultStore, resultConfigMapName } from "../../src/delegation/result.ts";
import { KubeClient } from "../../src/runtime/client.ts";
import { NotControlledError } from "../../src/runtime/owned.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("takeover");
let operator: OperatorProcess;

const { k, getJson, applyObj } = kubectlIn(kubeconfig, ns);

const agent = (name: string): Obj => ({
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "Agent",
  metadata: { name },
  spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" } },
});

/** What must not change on someone else's object: its content, its owners and its version. */
const fingerprint = (obj: Obj) => ({
  resourceVersion: obj.metadata.resourceVersion,
  ownerReferences: obj.metadata.ownerReferences,
  labels: obj.metadata.labels,
  data: obj.data,
  spec: obj.spec,
});

async function waitForReason(kind: string, name: string, type: string, reason: string): Promise<Obj> {
  return eventually(
    `${kind} ${name} ${type} reason ${reason}`,
    async () => {
      const obj = await getJson(`${kind}/${name}`);
      return condition(obj, type)?.reason === reason ? obj : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

async function warnings(kind: string, name: string): Promise<Obj[]> {
  const out = JSON.parse(await k("get", "events.events.k8s.io", "-o", "json")) as { items: Obj[] };
  return out.items.filter((e) => e.regarding?.kind === kind && e.regarding?.name === name && e.type === "Warning");
}

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  operator = await startOperator(kubeconfig, `${ns}-op`, [`--namespace=${ns}`, `--leader-election-namespace=${ns}`]);
});

afterAll(async () => {
  await operator?.stop();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("objects the operator did not create", () => {
  it("leaves a user's ConfigMap under an Agent's derived name alone, writes nothing else, and heals once it is gone", async () => {
    await applyObj({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "alpha-config" }, data: { mine: "yes" } });
    const before = fingerprint((await getJson("configmap/alpha-config"))!);
    await applyObj(agent("alpha"));

    const stuck = await waitForReason("agent", "alpha", "ConfigValid", "NameConflict");
    const message = condition(stuck, "ConfigValid")!.message as string;
    expect(message).toContain(`ConfigMap ${ns}/alpha-config exists`);
    expect(message).toMatch(/created by kubectl[-\w]*, with no controller/);
    expect(condition(stuck, "Ready")).toMatchObject({ status: "False", message });
    expect(fingerprint((await getJson("configmap/alpha-config"))!)).toEqual(before);
    for (const ref of ["deployment/alpha", "service/alpha", "serviceaccount/alpha"]) {
      expect(await getJson(ref), ref).toBeUndefined();
    }
    await eventually("a NameConflict Warning", async () =>
      (await warnings("Agent", "alpha")).find((e) => e.reason === "NameConflict" && e.note.includes("alpha-config")),
    );

    await k("delete", "configmap", "alpha-config");
    const healed = await waitForReason("agent", "alpha", "ConfigValid", "ConfigRendered");
    const cm = (await getJson("configmap/alpha-config"))!;
    expect(cm.metadata.ownerReferences[0]).toMatchObject({ kind: "Agent", uid: healed.metadata.uid, controller: true });
  });

  it("refuses a Service controlled by another owner", async () => {
    await applyObj({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "other-owner" }, data: {} });
    const owner = (await getJson("configmap/other-owner"))!;
    await applyObj({
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "beta",
        ownerReferences: [
          { apiVersion: "v1", kind: "ConfigMap", name: "other-owner", uid: owner.metadata.uid, controller: true },
        ],
      },
      spec: { selector: { app: "someone-else" }, ports: [{ port: 80 }] },
    });
    const before = fingerprint((await getJson("service/beta"))!);
    await applyObj(agent("beta"));

    const stuck = await waitForReason("agent", "beta", "ConfigValid", "NameConflict");
    expect(condition(stuck, "ConfigValid")!.message).toContain(
      `Service ${ns}/beta exists, controlled by ConfigMap other-owner`,
    );
    expect(fingerprint((await getJson("service/beta"))!)).toEqual(before);
    expect(await getJson("configmap/beta-config")).toBeUndefined();
    expect(await getJson("deployment/beta")).toBeUndefined();
  });

  it("never uses a token Secret it did not create as the gateway's token", async () => {
    await applyObj({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "gamma-token" },
      stringData: { token: "chosen-by-someone-else" },
    });
    const before = fingerprint((await getJson("secret/gamma-token"))!);
    await applyObj(agent("gamma"));

    const stuck = await waitForReason("agent", "gamma", "ConfigValid", "NameConflict");
    expect(condition(stuck, "ConfigValid")!.message).toContain(`Secret ${ns}/gamma-token exists`);
    expect(fingerprint((await getJson("secret/gamma-token"))!)).toEqual(before);
    expect(await getJson("deployment/gamma")).toBeUndefined();
  });

  it("leaves a NetworkPolicy under a team's derived name alone and reports the team not Ready", async () => {
    await applyObj({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "crew-gateways" },
      spec: { podSelector: { matchLabels: { app: "mine" } }, policyTypes: ["Ingress"] },
    });
    const before = fingerprint((await getJson("networkpolicy/crew-gateways"))!);
    await applyObj(agent("lead"));
    await applyObj(agent("worker"));
    await applyObj({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "AgentTeam",
      metadata: { name: "crew" },
      spec: { pattern: "hubAndSpoke", lead: "lead", members: [{ agent: "worker" }], networkIsolation: true },
    });

    const team = await waitForReason("agentteam", "crew", "Ready", "NameConflict");
    expect(condition(team, "Ready")!.message).toContain(`NetworkPolicy ${ns}/crew-gateways exists`);
    expect(fingerprint((await getJson("networkpolicy/crew-gateways"))!)).toEqual(before);
    await eventually("a NameConflict Warning on the team", async () =>
      (await warnings("AgentTeam", "crew")).find((e) => e.reason === "NameConflict"),
    );
  });

  it("never overwrites a result ConfigMap that another attempt or person wrote", async () => {
    const client = KubeClient.load({ kubeconfig });
    const d = {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Delegation",
      metadata: { name: "job", namespace: ns, uid: "4f6c1d2e-0000-4000-8000-000000000001" },
      spec: { to: "worker", task: "t" },
    } as unknown as Delegation;
    const name = resultConfigMapName("job", 1, "00112233aabbccdd");
    await applyObj({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { result: "the first text" } });
    const before = fingerprint((await getJson(`configmap/${name}`))!);

    const store = new ConfigMapResultStore(client);
    await expect(store.save(d, 1, "00112233aabbccdd", "a second text")).rejects.toBeInstanceOf(NotControlledError);
    await store.discard(d, 1, "00112233aabbccdd");
    expect(fingerprint((await getJson(`configmap/${name}`))!)).toEqual(before);
  });
});
