/**
 * The chart's namespaced install mode, proven with the chart's own ServiceAccount and rendered RBAC: the
 * operator process (src/main.ts) watches two namespaces with a Role in each and no ClusterRole, takes an
 * Agent and a team to Ready, and carries a Delegation (over its endpoint and one made with kubectl) to a
 * result from stub gateways in a pod network. An Agent outside its namespaces is left alone, and the API
 * server refuses what its rules do not grant (a Secret in another namespace). Needs root (network
 * namespaces, a bridge), like delegation-flow.test.ts.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ControlPlane,
  eventually,
  freePorts,
  GVR,
  helm,
  installCrds,
  installSignalCleanup,
  isReady,
  kubectl,
  kubectlOk,
  namespaceApi,
  type Obj,
  type OperatorProcess,
  repoRoot,
  startControlPlane,
  startOperator,
} from "../../harness/index.ts";
import {
  acquirePodNetwork,
  BRIDGE_ADDRESS,
  type PodAgent,
  type PodNetwork,
  startPodAgent,
} from "../../harness/podnet/index.ts";
import { DELEGATION_TOKEN_KEY } from "../../src/agent/desired.ts";
import type { Delegation } from "../../src/api/delegation.ts";
import { isTerminal } from "../../src/delegation/delegation-object.ts";
import { KubeClient } from "../../src/runtime/client.ts";

const OPS = "clawcrew-ops";
const WATCHED = ["tenant-a", "tenant-b"];
const OUTSIDE = "tenant-c";
const RELEASE = "clawcrew";

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; rules?: Rule[] };
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

const agent = (name: string, spec: Obj = {}) => ({
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "Agent",
  metadata: { name },
  spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" }, ...spec },
});

describe("the namespaced install mode, under the chart's ServiceAccount and rendered RBAC", () => {
  let cp: ControlPlane | undefined;
  let network: PodNetwork | undefined;
  let podAgent: PodAgent | undefined;
  let operator: OperatorProcess | undefined;
  let removeSignalCleanup: (() => void) | undefined;
  let client: KubeClient;
  let admin = "";
  /** Authenticates as the chart's ServiceAccount. */
  let asOperator = "";
  let serviceAccount = "";
  let endpoint = "";
  let rendered: Doc[] = [];
  const [home, second] = WATCHED as [string, string];
  const inHome = namespaceApi(() => client, home);

  const phaseOf = (ns: string, kind: string, name: string) =>
    kubectl(admin, [
      "-n",
      ns,
      "get",
      `${kind}/${name}`,
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root: it creates network namespaces and a bridge");
    removeSignalCleanup = installSignalCleanup();
    // The pod network is one per host: wait for another run to finish with it.
    network = await acquirePodNetwork({ waitMs: 540_000, log: () => {} });
    cp = await startControlPlane({ podReadiness: "external", log: () => {} });
    admin = cp.kubeconfigPath;
    client = KubeClient.load({ kubeconfig: admin });
    await installCrds(admin);
    for (const ns of [OPS, ...WATCHED, OUTSIDE]) await kubectlOk(admin, ["create", "namespace", ns]);

    const template = await helm(admin, [
      "template",
      RELEASE,
      join(repoRoot, "charts/clawcrew"),
      "-n",
      OPS,
      "--skip-crds",
      "--set",
      `watchNamespaces={${WATCHED.join(",")}}`,
    ]);
    expect(template.code, template.stderr).toBe(0);
    rendered = (yaml.loadAll(template.stdout) as (Doc | null)[]).filter((d): d is Doc => d !== null);
    // Everything but the operator's own Deployment and Service: the operator runs here as a process.
    const docs = rendered.filter((d) => !["Deployment", "Service"].includes(d.kind));
    await kubectlOk(admin, ["apply", "-f", "-"], docs.map((d) => yaml.dump(d)).join("---\n"));
    serviceAccount = docs.find((d) => d.kind === "ServiceAccount")!.metadata.name;
    const token = (await kubectlOk(admin, ["create", "token", serviceAccount, "-n", OPS, "--duration=1h"])).trim();
    const config = yaml.load(await kubectlOk(admin, ["config", "view", "--raw"])) as { users: { user: Obj }[] };
    config.users[0]!.user = { token };
    asOperator = join(await mkdtemp(join(tmpdir(), "clawcrew-namespaced-")), "operator.kubeconfig");
    await writeFile(asOperator, yaml.dump(config), { mode: 0o600 });

    const port = (await freePorts(1, BRIDGE_ADDRESS))[0]!;
    endpoint = `http://${BRIDGE_ADDRESS}:${port}`;
    operator = await startOperator(asOperator, "namespaced-op", [
      `--namespace=${WATCHED.join(",")}`,
      `--leader-election-namespace=${OPS}`,
      `--delegation-bind-address=${BRIDGE_ADDRESS}:${port}`,
      `--delegation-url=${endpoint}/mcp`,
    ]);
    await eventually(
      "the operator to lead",
      async () => {
        if (operator!.child.exitCode !== null) throw new Error(`operator exited: see ${operator!.logFile}`);
        return operator!.logs.some((l) => l.msg === "controllers started") ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
    podAgent = startPodAgent({ kubeconfig: admin, runtime: "stub", log: () => {} });
  }, 900_000);

  afterAll(async () => {
    try {
      await operator?.stop();
      await podAgent?.stop();
      await network?.destroy();
      client?.close();
      await cp?.stop();
    } finally {
      removeSignalCleanup?.();
    }
  }, 120_000);

  it("renders only Roles and RoleBindings: one per watched namespace, and the Lease's in its own", () => {
    expect(rendered.map((d) => d.kind)).not.toContain("ClusterRole");
    expect(rendered.map((d) => d.kind)).not.toContain("ClusterRoleBinding");
    const roles = rendered.filter((d) => d.kind === "Role");
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual([OPS, ...WATCHED].sort());
    const own = roles.find((r) => r.metadata.namespace === OPS)!;
    expect(own.rules).toEqual([
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
    ]);
    const bindings = rendered.filter((d) => d.kind === "RoleBinding");
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual([OPS, ...WATCHED].sort());
  });

  it("grants the ServiceAccount its rules in the watched namespaces only", async () => {
    const who = `system:serviceaccount:${OPS}:${serviceAccount}`;
    const can = async (...args: string[]) =>
      (await kubectl(admin, ["auth", "can-i", ...args, `--as=${who}`])).stdout.trim();
    for (const ns of WATCHED) {
      expect(await can("get", "secrets", "-n", ns), ns).toBe("yes");
      expect(await can("patch", "deployments.apps", "-n", ns), ns).toBe("yes");
    }
    for (const ns of [OUTSIDE, "default", "kube-system"]) {
      for (const resource of ["secrets", "configmaps", "deployments.apps", "agents.clawcrew.io"]) {
        expect(await can("get", resource, "-n", ns), `get ${resource} in ${ns}`).toBe("no");
      }
    }
    expect(await can("list", "secrets", "--all-namespaces")).toBe("no");
    expect(await can("create", "leases.coordination.k8s.io", "-n", OPS)).toBe("yes");
    expect(await can("get", "secrets", "-n", OPS)).toBe("no");
  });

  it("takes an Agent and a team to Ready in each watched namespace, and a Delegation to its result", async () => {
    await kubectlOk(admin, ["-n", home, "apply", "-f", "-"], {
      apiVersion: "v1",
      kind: "List",
      items: [
        agent("lead"),
        agent("worker", { capabilities: ["research"] }),
        {
          apiVersion: "clawcrew.io/v1alpha1",
          kind: "AgentTeam",
          metadata: { name: "crew" },
          spec: { pattern: "hubAndSpoke", lead: "lead", members: [{ agent: "worker", role: "Research." }] },
        },
      ],
    });
    await kubectlOk(admin, ["-n", second, "apply", "-f", "-"], agent("solo"));
    await eventually(
      "the Agents Ready with Ready pods, and the team Ready",
      async () => {
        for (const [ns, name] of [
          [home, "lead"],
          [home, "worker"],
          [second, "solo"],
        ] as const) {
          if ((await phaseOf(ns, "agent", name)).stdout !== "True") return undefined;
        }
        if ((await inHome.agentPods("worker")).filter(isReady).length !== 1) return undefined;
        return (await phaseOf(home, "agentteam", "crew")).stdout === "True" ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await kubectlOk(admin, ["-n", home, "get", "networkpolicy/crew-gateways"]);

    // Over the endpoint, with the lead's delegation token, as the lead's pod would.
    const { lead } = await inHome.agentTokens(["lead"], DELEGATION_TOKEN_KEY);
    const task = "find three facts";
    const response = await fetch(`${endpoint}/v1/delegations`, {
      method: "POST",
      headers: { authorization: `Bearer ${lead}`, "content-type": "application/json" },
      body: JSON.stringify({ agent: "worker", task }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await response.json()) as Obj;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ phase: "Succeeded", agent: "worker", result: `ok:${task}` });
    const made = await client.get<Delegation>(inHome.api(GVR.delegations, body.delegation));
    expect(made.spec).toMatchObject({ from: "lead", to: "worker", team: "crew" });

    // One a person makes with kubectl.
    const created = await kubectlOk(admin, ["-n", home, "create", "-o", "name", "-f", "-"], {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Delegation",
      metadata: { generateName: "by-hand-" },
      spec: { to: "worker", task: "by hand" },
    });
    const name = created.trim().split("/")[1]!;
    const done = await eventually(
      `Delegation ${name} to finish`,
      async () => {
        const d = await client.get<Delegation>(inHome.api(GVR.delegations, name));
        return isTerminal(d) ? d : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(done.status).toMatchObject({ phase: "Succeeded", result: "ok:by hand" });
  });

  it("leaves an Agent outside its namespaces alone, and is refused what its rules do not grant", async () => {
    await kubectlOk(admin, ["-n", OUTSIDE, "apply", "-f", "-"], agent("stray"));
    await kubectlOk(admin, ["-n", OUTSIDE, "create", "secret", "generic", "keys", "--from-literal=API_KEY=x"]);
    for (const [verb, target] of [
      ["get", "secret/keys"],
      ["get", "configmaps"],
      ["get", "agents.clawcrew.io"],
    ] as const) {
      const refused = await kubectl(asOperator, ["-n", OUTSIDE, verb, target]);
      expect(refused.code, `${verb} ${target} in ${OUTSIDE}`).not.toBe(0);
      expect(refused.stderr).toContain("Forbidden");
      expect(refused.stderr).toContain(`system:serviceaccount:${OPS}:${serviceAccount}`);
    }
    const everywhere = await kubectl(asOperator, ["get", "secrets", "--all-namespaces"]);
    expect(everywhere.code).not.toBe(0);
    expect(everywhere.stderr).toContain("Forbidden");

    // The watched namespaces' work above was reconciled; this one never is.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const stray = JSON.parse(await kubectlOk(admin, ["-n", OUTSIDE, "get", "agent/stray", "-o", "json"])) as Obj;
    expect(stray.status).toBeUndefined();
    expect(
      await kubectlOk(admin, ["-n", OUTSIDE, "get", "deployments,services,configmaps", "-o", "name"]),
    ).not.toContain("stray");
    // Nothing the operator asked for was forbidden: it stays within its Roles.
    expect(operator!.logs.filter((l) => JSON.stringify(l).toLowerCase().includes("forbidden"))).toEqual([]);
  });
});
