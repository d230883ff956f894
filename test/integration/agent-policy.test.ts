// The operator's policy on what an Agent may ask for (--agent-* flags, src/agent/policy.ts), on the real
// control plane: an image outside the allow-list, a Secret or ConfigMap without the agent-readable label,
// and scheduling fields of spec.podTemplate the flags do not allow are each refused with a condition and
// a Warning Event naming the field, and nothing is written: no workload, no config, a running Deployment
// left as it was. The chart's ValidatingAdmissionPolicy, rendered from the same agentPolicy values,
// refuses at admission what the fields alone decide.
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  condition,
  eventually,
  helm,
  installCrds,
  kubectl,
  kubectlIn,
  kubectlOk,
  type Obj,
  type OperatorProcess,
  repoRoot,
  startOperator,
  uniqueName,
} from "../../harness/index.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("policy");
const priorityClass = uniqueName("agents");
const admitted = uniqueName("policy-admission");
const OWN_REGISTRY = "registry.example.com/team";
let operator: OperatorProcess;
/** The chart's cluster-scoped objects this test created. */
let admissionPolicy: { kind: string; metadata: { name: string } }[] = [];

const { k, getJson, applyObj } = kubectlIn(kubeconfig, ns);

function agent(name: string, spec: Obj = {}): Obj {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name },
    spec: { soul: `# ${name}`, model: { primary: "openai/gpt-5" }, ...spec },
  };
}

/** The Agent's ConfigValid condition once it reports on its current generation with `status`. */
function configValid(name: string, status: "True" | "False") {
  return eventually(
    `${name} ConfigValid=${status}`,
    async () => {
      const obj = await getJson(`agent/${name}`);
      const c = condition(obj, "ConfigValid");
      return obj?.status?.observedGeneration === obj?.metadata?.generation && c?.status === status ? c : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

async function warnings(name: string): Promise<Obj[]> {
  const out = JSON.parse(await k("get", "events.events.k8s.io", "-o", "json")) as { items: Obj[] };
  return out.items.filter((e) => e.regarding?.name === name && e.type === "Warning");
}

/** Asserts the refusal: reason and field on the condition and on a Warning Event, and no object written. */
async function expectRefused(name: string, reason: string, named: string) {
  const c = await configValid(name, "False");
  expect(c.reason).toBe(reason);
  expect(c.message).toContain(named);
  const events = await eventually(`a ${reason} Event for ${name}`, async () => {
    const found = (await warnings(name)).filter((e) => e.reason === reason);
    return found.length ? found : undefined;
  });
  expect(events[0]!.note).toContain(named);
  for (const kind of ["deployment", "configmap", "service"]) {
    const r = await k("get", kind, "-o", "name");
    expect(r, kind).not.toContain(`/${name}`);
  }
}

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  await kubectlOk(kubeconfig, ["create", "priorityclass", priorityClass, "--value=1000"]);
  operator = await startOperator(kubeconfig, `${ns}-op`, [
    `--namespace=${ns}`,
    "--leader-elect=false",
    `--agent-allowed-images=${OWN_REGISTRY}/*`,
    "--agent-require-readable-label=true",
    "--agent-allowed-toleration-keys=dedicated",
    "--agent-allowed-node-selector-keys=pool,topology.kubernetes.io/*",
    "--agent-allow-affinity=false",
    `--agent-allowed-priority-classes=${priorityClass}`,
  ]);
  const readable = ["--overwrite", "clawcrew.io/agent-readable=true"];
  await k("create", "secret", "generic", "keys", "--from-literal=OPENAI_API_KEY=sk-allowed");
  await k("label", "secret", "keys", ...readable);
  await k("create", "secret", "generic", "plain", "--from-literal=OPENAI_API_KEY=sk-not-for-agents");
  await k("create", "configmap", "souls", "--from-literal=SOUL.md=# labelled soul");
  await k("label", "configmap", "souls", ...readable);
  await k("create", "configmap", "private", "--from-literal=SOUL.md=# private notes");
});

afterAll(async () => {
  await operator?.stop();
  for (const d of admissionPolicy)
    await kubectl(kubeconfig, ["delete", d.kind.toLowerCase(), d.metadata.name, "--ignore-not-found"]);
  await kubectl(kubeconfig, ["delete", "namespace", admitted, "--wait=false"]);
  await kubectl(kubeconfig, ["delete", "priorityclass", priorityClass, "--ignore-not-found"]);
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("the operator's Agent policy", () => {
  it("runs an Agent within it: its own registry's image, labelled references, allowed scheduling", async () => {
    await applyObj(
      agent("inside", {
        image: `${OWN_REGISTRY}/openclaw:1`,
        soul: undefined,
        soulFrom: { configMapKeyRef: { name: "souls", key: "SOUL.md" } },
        credentials: { secretRef: { name: "keys" } },
        podTemplate: {
          tolerations: [{ key: "dedicated", operator: "Equal", value: "agents", effect: "NoSchedule" }],
          nodeSelector: { pool: "agents", "topology.kubernetes.io/zone": "a" },
          priorityClassName: priorityClass,
        },
      }),
    );
    await configValid("inside", "True");
    const pod = ((await getJson("deployment/inside")) as Obj).spec.template.spec;
    expect(pod.containers[0].image).toBe(`${OWN_REGISTRY}/openclaw:1`);
    expect(pod.priorityClassName).toBe(priorityClass);
    expect(pod.nodeSelector).toEqual({ pool: "agents", "topology.kubernetes.io/zone": "a" });
    // OpenClaw's own images are always allowed.
    await applyObj(agent("official", { image: "ghcr.io/openclaw/openclaw:2026.1.1" }));
    await configValid("official", "True");
  });

  it("refuses an image outside the allow-list, and leaves a running Agent's Deployment as it was", async () => {
    await applyObj(agent("miner", { image: "docker.io/evil/miner:1" }));
    await expectRefused("miner", "ImageNotAllowed", "spec.image docker.io/evil/miner:1");

    const before = (await getJson("deployment/inside")) as Obj;
    const edited = agent("inside", {
      image: `${OWN_REGISTRY}.evil.example/openclaw:1`,
      soul: undefined,
      soulFrom: { configMapKeyRef: { name: "souls", key: "SOUL.md" } },
      credentials: { secretRef: { name: "keys" } },
    });
    await applyObj(edited);
    const c = await configValid("inside", "False");
    expect(c.reason).toBe("ImageNotAllowed");
    expect(c.message).toContain(`spec.image ${OWN_REGISTRY}.evil.example/openclaw:1`);
    const after = (await getJson("deployment/inside")) as Obj;
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.spec.template.spec.containers[0].image).toBe(`${OWN_REGISTRY}/openclaw:1`);
  });

  it("refuses a credentials Secret without the agent-readable label, and nothing of it reaches a pod", async () => {
    await applyObj(agent("borrower", { credentials: { secretRef: { name: "plain" } } }));
    await expectRefused("borrower", "NotAgentReadable", "Secret plain named in spec.credentials.secretRef");
    const all = await k("get", "deployments,statefulsets,configmaps", "-o", "json");
    expect(all).not.toContain("plain");
    expect(all).not.toContain(Buffer.from("sk-not-for-agents").toString("base64"));
  });

  it("refuses a soulFrom ConfigMap without the agent-readable label, and copies none of it", async () => {
    await applyObj(
      agent("reader", { soul: undefined, soulFrom: { configMapKeyRef: { name: "private", key: "SOUL.md" } } }),
    );
    await expectRefused("reader", "NotAgentReadable", "ConfigMap private named in spec.soulFrom.configMapKeyRef");
    const configMaps = JSON.parse(await k("get", "configmaps", "-o", "json")) as { items: Obj[] };
    const copies = configMaps.items.filter(
      (cm) => cm.metadata.name !== "private" && JSON.stringify(cm.data ?? {}).includes("private notes"),
    );
    expect(copies).toEqual([]);
  });

  it.each([
    [
      "a toleration of a taint key not allowed",
      { tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }] },
      "spec.podTemplate.tolerations[0] tolerates taint key node-role.kubernetes.io/control-plane",
    ],
    [
      "a toleration of every taint",
      { tolerations: [{ operator: "Exists" }] },
      "spec.podTemplate.tolerations[0] tolerates every taint",
    ],
    [
      "a nodeSelector key not allowed",
      { nodeSelector: { "kubernetes.io/hostname": "node-1" } },
      "spec.podTemplate.nodeSelector[kubernetes.io/hostname]",
    ],
    ["affinity, when not allowed", { affinity: { nodeAffinity: {} } }, "spec.podTemplate.affinity"],
    [
      "a priorityClassName not in the allow-list",
      { priorityClassName: "system-cluster-critical" },
      "spec.podTemplate.priorityClassName system-cluster-critical",
    ],
  ])("refuses %s, naming the field", async (_, podTemplate, named) => {
    const name = uniqueName("sched");
    await applyObj(agent(name, { podTemplate }));
    await expectRefused(name, "PodTemplateNotAllowed", named);
  });
});

describe("the chart's agent policy at admission", () => {
  beforeAll(async () => {
    await kubectlOk(kubeconfig, ["create", "namespace", admitted]);
    const release = uniqueName("policy");
    const values = {
      agentPolicy: {
        allowedImages: [`${OWN_REGISTRY}/*`],
        allowedTolerationKeys: ["dedicated"],
        allowedNodeSelectorKeys: ["pool", "topology.kubernetes.io/*"],
        allowAffinity: false,
        allowedPriorityClasses: [priorityClass],
      },
      admissionPolicy: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": admitted } } },
    };
    const rendered = await helm(kubeconfig, [
      "template",
      release,
      join(repoRoot, "charts/clawcrew"),
      "--show-only=templates/admission-policy.yaml",
      "--set-json",
      `agentPolicy=${JSON.stringify(values.agentPolicy)}`,
      "--set-json",
      `admissionPolicy=${JSON.stringify(values.admissionPolicy)}`,
    ]);
    expect(rendered.code, rendered.stderr).toBe(0);
    admissionPolicy = (yaml.loadAll(rendered.stdout) as ({ kind: string; metadata: { name: string } } | null)[]).filter(
      (d): d is { kind: string; metadata: { name: string } } => d?.metadata.name.endsWith("-agent-policy") === true,
    );
    expect(admissionPolicy.map((d) => d.kind)).toEqual([
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
    ]);
    await kubectlOk(kubeconfig, ["apply", "-f", "-"], admissionPolicy.map((d) => yaml.dump(d)).join("---\n"));
    // A policy takes effect a moment after it is created.
    await eventually("the agent policy to refuse an image", async () => {
      const r = await kubectl(
        kubeconfig,
        ["-n", admitted, "apply", "--dry-run=server", "-f", "-"],
        agent("probe", { image: "docker.io/evil/miner:1" }),
      );
      return r.code !== 0 ? true : undefined;
    });
  });

  it.each([
    [
      "an image outside the allow-list",
      { image: "docker.io/evil/miner:1" },
      "spec.image docker.io/evil/miner:1 is not an image",
    ],
    [
      "a look-alike of the own registry",
      { image: `${OWN_REGISTRY}.evil.example/openclaw:1` },
      `spec.image ${OWN_REGISTRY}.evil.example/openclaw:1 is not an image`,
    ],
    [
      "a toleration of a taint key not allowed",
      { podTemplate: { tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }] } },
      "spec.podTemplate.tolerations may tolerate only",
    ],
    [
      "a toleration of every taint",
      { podTemplate: { tolerations: [{ operator: "Exists" }] } },
      "spec.podTemplate.tolerations",
    ],
    [
      "a nodeSelector key not allowed",
      { podTemplate: { nodeSelector: { "kubernetes.io/hostname": "n" } } },
      "spec.podTemplate.nodeSelector may name only",
    ],
    ["affinity", { podTemplate: { affinity: { nodeAffinity: {} } } }, "spec.podTemplate.affinity is not allowed"],
    [
      "a priorityClassName not in the allow-list",
      { podTemplate: { priorityClassName: "system-cluster-critical" } },
      "spec.podTemplate.priorityClassName system-cluster-critical is not a PriorityClass",
    ],
  ])("refuses %s, naming the field, and creates nothing", async (_, spec, named) => {
    const name = uniqueName("refused");
    const r = await kubectl(kubeconfig, ["-n", admitted, "apply", "-f", "-"], agent(name, spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(named);
    expect((await kubectl(kubeconfig, ["-n", admitted, "get", `agent/${name}`])).code).not.toBe(0);
  });

  it("admits an Agent within the policy, and OpenClaw's own image", async () => {
    const within = agent("within", {
      image: `${OWN_REGISTRY}/openclaw:1`,
      podTemplate: {
        tolerations: [{ key: "dedicated", operator: "Exists" }],
        nodeSelector: { pool: "a", "topology.kubernetes.io/zone": "z" },
        priorityClassName: priorityClass,
      },
    });
    for (const obj of [within, agent("official", { image: "ghcr.io/openclaw/openclaw:2026.1.1" }), agent("plain")]) {
      const r = await kubectl(kubeconfig, ["-n", admitted, "apply", "--dry-run=server", "-f", "-"], obj);
      expect(r.code, r.stderr).toBe(0);
    }
  });
});
