// The operator works with exactly the RBAC the Helm chart grants, and with nothing more.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import {
  eventually,
  installCrds,
  kubectl,
  kubectlOk,
  type OperatorProcess,
  repoRoot,
  startOperator,
  uniqueName,
} from "../../harness/index.ts";
import { ANNOTATION_ADMITTED as ADMITTED } from "../../src/api/labels.ts";

const admin = inject("kubeconfig");
const ns = uniqueName("rbac");
const release = uniqueName("rbac");
let operator: OperatorProcess | undefined;
/** Authenticates as the chart's ServiceAccount. */
let operatorKubeconfig = "";
let rendered: { kind: string; metadata: { name: string } }[] = [];

type Doc = { kind: string; metadata: { name: string; namespace?: string } };

function helm(): string {
  const env = readFileSync(
    join(process.env.CLAWCREW_CACHE ?? join(process.env.HOME!, ".cache/clawcrew"), "bins.env"),
    "utf8",
  );
  return /^helm=(.*)$/m.exec(env)![1]!;
}

beforeAll(async () => {
  await installCrds(admin);
  await kubectlOk(admin, ["create", "namespace", ns]);
  const manifest = execFileSync(
    helm(),
    // The chart's admission policy binds cluster-wide by default: here it binds to this namespace only.
    ["template", release, join(repoRoot, "charts/clawcrew"), "-n", ns, "--skip-crds"].concat([
      "--set",
      `admissionPolicy.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=${ns}`,
    ]),
    {
      encoding: "utf8",
    },
  );
  // Everything but the operator's own Deployment and Service: the operator runs here as a process.
  const docs = (yaml.loadAll(manifest) as Doc[]).filter((d) => d && !["Deployment", "Service"].includes(d.kind));
  rendered = docs;
  await kubectlOk(admin, ["apply", "-n", ns, "-f", "-"], docs.map((d) => yaml.dump(d)).join("---\n"));
  const sa = docs.find((d) => d.kind === "ServiceAccount")!.metadata.name;
  const token = (await kubectlOk(admin, ["create", "token", sa, "-n", ns, "--duration=1h"])).trim();
  const config = yaml.load(readFileSync(admin, "utf8")) as { users: { user: { token: string } }[] };
  config.users[0]!.user.token = token;
  const dir = await mkdtemp(join(tmpdir(), "clawcrew-rbac-"));
  const kubeconfig = join(dir, "operator.kubeconfig");
  writeFileSync(kubeconfig, yaml.dump(config), { mode: 0o600 });
  operatorKubeconfig = kubeconfig;
  operator = await startOperator(kubeconfig, `${release}-op`, [
    `--namespace=${ns}`,
    `--leader-election-namespace=${ns}`,
  ]);
});

afterAll(async () => {
  await operator?.stop();
  for (const d of rendered.filter((d) => /^(Cluster|ValidatingAdmissionPolicy)/.test(d.kind))) {
    await kubectl(admin, ["delete", d.kind.toLowerCase(), d.metadata.name, "--ignore-not-found"]);
  }
  await kubectl(admin, ["delete", "namespace", ns, "--wait=false"]);
});

it("grants the operator's ServiceAccount what it needs and no more", async () => {
  const sa = rendered.find((d) => d.kind === "ServiceAccount")!.metadata.name;
  const who = `system:serviceaccount:${ns}:${sa}`;
  const can = async (...args: string[]) =>
    (await kubectl(admin, ["auth", "can-i", ...args, `--as=${who}`])).stdout.trim();
  expect(await can("patch", "agents.clawcrew.io", "--subresource=status", "-n", ns)).toBe("yes");
  expect(await can("create", "leases.coordination.k8s.io", "-n", ns)).toBe("yes");
  expect(await can("create", "leases.coordination.k8s.io", "-n", "kube-system")).toBe("no");
  expect(await can("create", "pods", "-n", ns)).toBe("no");
  expect(await can("delete", "pods", "-n", ns)).toBe("no");
  // Only the pod-deletion-cost annotation of a scale-down.
  expect(await can("patch", "pods", "-n", ns)).toBe("yes");
  expect(await can("delete", "agents.clawcrew.io", "-n", ns)).toBe("no");
  // Only status, scale and finalizers of an Agent or team are written; Secrets are never rewritten.
  expect(await can("patch", "agents.clawcrew.io", "-n", ns)).toBe("no");
  expect(await can("update", "agentteams.clawcrew.io", "-n", ns)).toBe("no");
  expect(await can("patch", "agents.clawcrew.io", "--subresource=scale", "-n", ns)).toBe("yes");
  for (const verb of ["update", "patch", "delete"]) {
    expect(await can(verb, "secrets", "-n", ns), `${verb} secrets`).toBe("no");
  }
  expect(await can("create", "secrets", "-n", ns)).toBe("yes");
});

it("lets the operator lead, reconcile an Agent and a team to Ready and record events, with no request forbidden", async () => {
  await kubectlOk(admin, ["-n", ns, "create", "secret", "generic", "keys", "--from-literal=OPENAI_API_KEY=x"]);
  await kubectlOk(admin, ["-n", ns, "apply", "-f", "-"], {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name: "scout" },
    spec: {
      soul: "You scout.",
      model: { primary: "openai/gpt-5" },
      replicas: 2,
      credentials: { secretRef: { name: "keys" } },
    },
  });
  await eventually(
    "scout Ready",
    async () => {
      const out = await kubectl(admin, [
        "-n",
        ns,
        "get",
        "agent/scout",
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]);
      return out.stdout === "True" ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  await kubectlOk(admin, ["-n", ns, "apply", "-f", "-"], {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name: "solo" },
    spec: { pattern: "swarm", members: [{ agent: "scout" }] },
  });
  await eventually("team solo Ready with its NetworkPolicy", async () => {
    const ready = await kubectl(admin, [
      "-n",
      ns,
      "get",
      "agentteam/solo",
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
    const policy = await kubectl(admin, ["-n", ns, "get", "networkpolicy/solo-gateways", "-o", "name"]);
    return ready.stdout === "True" && policy.code === 0 ? true : undefined;
  });
  const events = await kubectlOk(admin, ["-n", ns, "get", "events.events.k8s.io", "-o", "jsonpath={.items[*].reason}"]);
  expect(events.split(" ")).toContain("Ready");
  await kubectlOk(admin, ["-n", ns, "get", "poddisruptionbudget/scout"]);
  const forbidden = operator!.logs.filter((l) => JSON.stringify(l).includes("forbidden"));
  expect(forbidden).toEqual([]);
});

it("lets only the operator's ServiceAccount set a Delegation's spec.from and its recorded admission (the chart's ValidatingAdmissionPolicy)", async () => {
  const delegation = (spec: Record<string, string>) => ({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { generateName: "claim-" },
    spec: { to: "scout", task: "Look around.", ...spec },
  });
  // A policy takes effect a moment after it is created.
  const refused = await eventually("the policy to refuse a person's spec.from", async () => {
    const r = await kubectl(admin, ["-n", ns, "create", "-f", "-"], delegation({ from: "lead" }));
    return r.code !== 0 ? r : undefined;
  });
  expect(refused.stderr).toContain("spec.from may be set only by the clawcrew operator");
  expect(refused.stderr).toContain(`system:serviceaccount:${ns}:`);
  const byOperator = await kubectl(operatorKubeconfig, ["-n", ns, "create", "-f", "-"], delegation({ from: "lead" }));
  expect(byOperator.code, byOperator.stderr).toBe(0);
  const byPerson = await kubectl(admin, ["-n", ns, "create", "-f", "-"], delegation({}));
  expect(byPerson.code, byPerson.stderr).toBe(0);

  // The endpoint's recorded admission: a person can neither create it nor add it later.
  const admitted = { ...delegation({}), metadata: { generateName: "claim-", annotations: { [ADMITTED]: "scout" } } };
  const forged = await kubectl(admin, ["-n", ns, "create", "-f", "-"], admitted);
  expect(forged.code).not.toBe(0);
  expect(forged.stderr).toContain("clawcrew.io/admitted-candidates] may be set only by the clawcrew operator");
  const made = byPerson.stdout.trim().split(/\s+/)[0]!; // "delegation.clawcrew.io/claim-xxxxx created"
  const added = await kubectl(admin, ["-n", ns, "annotate", made, `${ADMITTED}=scout`]);
  expect(added.code).not.toBe(0);
  expect(added.stderr).toContain("may be set only by the clawcrew operator");
  const fromOperator = await kubectl(operatorKubeconfig, ["-n", ns, "create", "-f", "-"], {
    ...admitted,
    spec: { ...admitted.spec, from: "lead" },
  });
  expect(fromOperator.code, fromOperator.stderr).toBe(0);
  // People still annotate (cancel) a Delegation the operator made.
  const operatorMade = fromOperator.stdout.trim().split(/\s+/)[0]!;
  const cancel = await kubectl(admin, ["-n", ns, "annotate", operatorMade, "clawcrew.io/cancel=true"]);
  expect(cancel.code, cancel.stderr).toBe(0);
});

it("releases the Lease and exits when its caches cannot sync (a rule missing from its RBAC)", async () => {
  // A copy of the chart's ClusterRole without EndpointSlices, bound to a second ServiceAccount.
  const role = rendered.find((d) => d.kind === "ClusterRole") as unknown as { rules: { resources: string[] }[] };
  const name = `${release}-crippled`;
  await kubectlOk(admin, ["apply", "-f", "-"], {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name },
    rules: role.rules.filter((r) => !r.resources.includes("endpointslices")),
  });
  await kubectlOk(admin, ["-n", ns, "create", "serviceaccount", "crippled"]);
  await kubectlOk(admin, [
    "create",
    "clusterrolebinding",
    name,
    `--clusterrole=${name}`,
    `--serviceaccount=${ns}:crippled`,
  ]);
  await kubectlOk(
    admin,
    ["-n", ns, "create", "rolebinding", "crippled-leases"].concat([
      `--role=${rendered.find((d) => d.kind === "Role")!.metadata.name}`,
      `--serviceaccount=${ns}:crippled`,
    ]),
  );
  const token = (await kubectlOk(admin, ["create", "token", "crippled", "-n", ns, "--duration=1h"])).trim();
  const config = yaml.load(readFileSync(operatorKubeconfig, "utf8")) as { users: { user: { token: string } }[] };
  config.users[0]!.user.token = token;
  const kubeconfig = join(await mkdtemp(join(tmpdir(), "clawcrew-rbac-")), "crippled.kubeconfig");
  writeFileSync(kubeconfig, yaml.dump(config), { mode: 0o600 });
  try {
    const crippled = await startOperator(kubeconfig, `${release}-crippled`, [
      `--namespace=${ns}`,
      `--leader-election-namespace=${ns}`,
      "--leader-election-id=crippled",
      "--cache-sync-timeout-seconds=3",
    ]);
    const code = await Promise.race([
      crippled.exited,
      new Promise((r) => setTimeout(() => r("still running"), 60_000)),
    ]);
    expect(code).toBe(1);
    expect(crippled.logs.some((l) => l.msg === "controllers failed to start; releasing the lease and exiting")).toBe(
      true,
    );
    expect(crippled.logs.some((l) => l.msg === "controllers started")).toBe(false);
    const lease = JSON.parse(await kubectlOk(admin, ["-n", ns, "get", "lease", "crippled", "-o", "json"]));
    expect(lease.spec.holderIdentity ?? "").toBe("");
  } finally {
    await kubectl(admin, ["delete", "clusterrole,clusterrolebinding", name, "--ignore-not-found"]);
  }
});
