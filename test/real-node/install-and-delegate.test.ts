/**
 * clawcrew on a real node (harness/real-node): the operator installed by `helm install` from its
 * own image, and real OpenClaw gateways in containers, reached through Services, DNS and kube-proxy.
 * The stub LLM (images/stub-llm) runs in the cluster as Service stub-llm; it is the only fake.
 * Needs root; the first run builds the images (minutes, cached afterwards).
 */
import { describe, expect, it } from "vitest";
import { eventually, isReady, kubectl, kubectlOk, type Obj } from "../../harness/index.ts";
import {
  createNamespace,
  deployStubLlm,
  installClawcrew,
  NODE_NAME,
  OPERATOR_NAMESPACE,
  RELEASE,
  STUB_PROVIDER,
  shellPod,
} from "../../harness/real-node/index.ts";
import { GATEWAY_PORT } from "../../src/openclaw/version.ts";
import { useRealCluster } from "./support/cluster.ts";
import { type PodRef, reach, resolve } from "./support/reach.ts";

const NS = "realnode";
const OUTSIDE_NS = "realnode-outside";
const TASK = "compute 3+4 for T-9";

describe("clawcrew on a real node", () => {
  let kubeconfig = "";
  const waitFor = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number) =>
    eventually(what, check, { timeoutMs, intervalMs: 1_000 });
  const real = useRealCluster("real-node", async ({ cluster, timings }) => {
    kubeconfig = cluster.kubeconfigPath;
    let t0 = performance.now();
    await deployStubLlm(kubeconfig);
    await installClawcrew(kubeconfig);
    timings.installMs = Math.round(performance.now() - t0);

    await createNamespace(kubeconfig, NS);
    const agent = (name: string, spec: Obj) => ({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Agent",
      metadata: { name },
      spec: {
        description: `The ${name}.`,
        soul: `# ${name}\nYou are the ${name}.`,
        model: { primary: "stub/stub-model", providers: [STUB_PROVIDER] },
        credentials: { secretRef: { name: "llm-credentials" } },
        timeoutSeconds: 240,
        ...spec,
      },
    });
    t0 = performance.now();
    await kubectlOk(kubeconfig, ["-n", NS, "apply", "-f", "-"], {
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "llm-credentials" },
          stringData: { STUB_API_KEY: "stub" },
        },
        agent("lead", { capabilities: ["planning"] }),
        agent("worker", { capabilities: ["research"], replicas: 2 }),
        {
          apiVersion: "clawcrew.io/v1alpha1",
          kind: "AgentTeam",
          metadata: { name: "crew" },
          spec: {
            pattern: "hubAndSpoke",
            lead: "lead",
            members: [{ agent: "worker", role: "Computes things." }],
            networkIsolation: true,
          },
        },
      ],
    });
    await waitFor(
      "the team Ready",
      async () => {
        const team = await get(["-n", NS, "agentteam", "crew"]);
        return team.status?.conditions?.some((c: Obj) => c.type === "Ready" && c.status === "True") ? true : undefined;
      },
      600_000,
    );
    timings.teamReadyMs = Math.round(performance.now() - t0);
  });
  const { get, timings } = real;
  const pods = async (ns: string, selector: string): Promise<Obj[]> =>
    (await get(["-n", ns, "pods", "-l", selector])).items;
  const ready = (pod: Obj) => isReady(pod) && !pod.metadata.deletionTimestamp;

  it("runs the operator from its image under the chart's ServiceAccount, two replicas, one leading", async () => {
    const operators = await pods(OPERATOR_NAMESPACE, "app.kubernetes.io/name=clawcrew");
    expect(operators).toHaveLength(2);
    for (const pod of operators) {
      expect(ready(pod)).toBe(true);
      expect(pod.spec.nodeName).toBe(NODE_NAME);
      expect(pod.spec.serviceAccountName).toBe("clawcrew");
      expect(pod.status.containerStatuses[0].imageID).toMatch(/sha256:/);
      expect(pod.spec.containers[0].image).toBe("ghcr.io/clawcrew/clawcrew-operator:0.1.0");
    }
    const leases = (await get(["-n", OPERATOR_NAMESPACE, "leases"])).items as Obj[];
    const holders = leases.map((l) => l.spec.holderIdentity).filter(Boolean);
    expect(holders.some((h: string) => operators.some((p) => h.includes(p.metadata.name)))).toBe(true);
  });

  it("runs real OpenClaw gateways that pass the kubelet's probes, under the restricted security settings", async () => {
    // The team is Ready once every member serves from one replica; the second worker may still be starting.
    const gateways = await waitFor(
      "all three gateways Ready",
      async () => {
        const all = await pods(NS, "clawcrew.io/agent");
        return all.length === 3 && all.every(ready) ? all : undefined;
      },
      180_000,
    );
    for (const pod of gateways) {
      const gateway = pod.spec.containers.find((c: Obj) => c.name === "gateway") ?? pod.spec.containers[0];
      expect(gateway.startupProbe?.httpGet?.path).toBe("/startupz");
      expect(gateway.readinessProbe?.httpGet?.path).toBe("/readyz");
      expect(gateway.livenessProbe?.httpGet?.path).toBe("/healthz");
    }
    const name = gateways[0]!.metadata.name as string;
    const exec = (script: string) =>
      kubectl(kubeconfig, ["-n", NS, "exec", name, "-c", "gateway", "--", "sh", "-c", script]);
    const identity = await exec("id -u; id -g; grep CapEff /proc/self/status");
    expect(identity.code, identity.stderr).toBe(0);
    expect(identity.stdout).toMatch(/^1000\n1000\nCapEff:\s+0000000000000000\n$/);
    const write = await exec("touch /app/x");
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    const version = await exec("node --version");
    expect(version.stdout.trim()).toMatch(/^v24\./);
  });

  it("delegates from the lead's model through the operator's MCP tool to a worker's gateway", async () => {
    const t0 = performance.now();
    await kubectlOk(kubeconfig, ["-n", NS, "apply", "-f", "-"], {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Delegation",
      metadata: { name: "ask-lead" },
      spec: { team: "crew", to: "lead", task: `@worker: ${TASK}`, timeoutSeconds: 300 },
    });
    const done = await waitFor(
      "the lead's delegation to finish",
      async () => {
        const d = await get(["-n", NS, "delegation", "ask-lead"]);
        return ["Succeeded", "Failed"].includes(d.status?.phase) ? d : undefined;
      },
      360_000,
    );
    timings.delegationMs = Math.round(performance.now() - t0);
    expect(done.status.phase, JSON.stringify(done.status)).toBe("Succeeded");
    expect(done.status.result).toContain("Lead: ");
    expect(done.status.result).toContain(`Answer from the stub LLM: ${TASK}`);

    // The lead's MCP call became a child Delegation that a worker replica answered.
    const all = (await get(["-n", NS, "delegations"])).items as Obj[];
    const child = all.find((d) => d.spec.from === "lead");
    expect(child, JSON.stringify(all.map((d) => d.spec))).toBeDefined();
    expect(child!.spec).toMatchObject({ to: "worker", team: "crew", task: TASK });
    expect(child!.status).toMatchObject({ phase: "Succeeded", agent: "worker" });
    expect(child!.status.result).toBe(`Answer from the stub LLM: ${TASK}`);
    const workers = (await pods(NS, "clawcrew.io/agent=worker")).map((p) => p.metadata.name);
    expect(workers).toContain(child!.status.pod);
    expect(child!.status.attempts).toHaveLength(1);
  });

  it("enforces the team's and the chart's NetworkPolicies on requests from inside real pods", async () => {
    const policies = (await get(["-n", NS, "networkpolicies"])).items.map((p: Obj) => p.metadata.name);
    expect(policies).toEqual(expect.arrayContaining(["crew-gateways", "crew-delegators"]));
    await get(["-n", OPERATOR_NAMESPACE, "networkpolicy", RELEASE]);
    await createNamespace(kubeconfig, OUTSIDE_NS);
    await kubectlOk(kubeconfig, ["apply", "-f", "-"], {
      apiVersion: "v1",
      kind: "List",
      items: [shellPod("outsider", NS), shellPod("outsider", OUTSIDE_NS)],
    });
    for (const ns of [NS, OUTSIDE_NS]) {
      await kubectlOk(kubeconfig, ["-n", ns, "wait", "pod/outsider", "--for=condition=Ready", "--timeout=120s"]);
    }
    const inPod = (pod: Obj, container: string): PodRef => ({
      namespace: pod.metadata.namespace,
      pod: pod.metadata.name,
      container,
    });
    const lead = inPod((await pods(NS, "clawcrew.io/agent=lead"))[0]!, "gateway");
    const worker = inPod((await pods(NS, "clawcrew.io/agent=worker"))[0]!, "gateway");
    const operator = inPod((await pods(OPERATOR_NAMESPACE, "app.kubernetes.io/name=clawcrew"))[0]!, "operator");
    const outsiders = [NS, OUTSIDE_NS].map((namespace): PodRef => ({ namespace, pod: "outsider", container: "shell" }));
    const svc = (name: string, ns: string, port: number, path: string) =>
      `http://${name}.${ns}.svc.cluster.local:${port}${path}`;
    const leadGateway = svc("lead", NS, GATEWAY_PORT, "/healthz");
    const workerGateway = svc("worker", NS, GATEWAY_PORT, "/healthz");
    const endpoint = svc(`${RELEASE}-delegation`, OPERATOR_NAMESPACE, 8082, "/mcp");
    const stubLlm = svc("stub-llm", OPERATOR_NAMESPACE, 80, "/v1/models");
    const reachFrom = (from: PodRef, url: string) => reach(kubeconfig, from, url);

    // Each target listens and each source has a working network: the allowed paths answer.
    expect(await reachFrom(operator, leadGateway)).toMatchObject({ reached: true });
    expect(await reachFrom(operator, workerGateway)).toMatchObject({ reached: true });
    expect(await reachFrom(lead, endpoint)).toMatchObject({ reached: true });
    for (const from of outsiders) expect(await reachFrom(from, stubLlm)).toMatchObject({ reached: true });
    // DNS and the LLM, the egress agents need.
    expect(await resolve(kubeconfig, worker, `stub-llm.${OPERATOR_NAMESPACE}.svc.cluster.local`)).toMatch(
      /^address 10\.96\./,
    );
    expect(await reachFrom(worker, stubLlm)).toMatchObject({ reached: true });

    // A worker cannot reach the lead's gateway.
    expect(await reachFrom(worker, leadGateway)).toMatchObject({ reached: false });
    // A pod outside the team, in its namespace or another, reaches no gateway and not the endpoint.
    for (const from of outsiders) {
      for (const url of [leadGateway, workerGateway, endpoint]) {
        expect(await reachFrom(from, url), `${from.namespace}/outsider → ${url}`).toMatchObject({ reached: false });
      }
    }
    // An agent that is not a delegator cannot reach the operator's delegation endpoint.
    expect(await reachFrom(worker, endpoint)).toMatchObject({ reached: false });
  });

  /** Creates a Delegation to the worker whose stub answer is held, and waits until an attempt runs on a pod. */
  const startHeldTask = async (name: string, task: string): Promise<string> => {
    await kubectlOk(kubeconfig, ["-n", NS, "apply", "-f", "-"], {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Delegation",
      metadata: { name },
      spec: { team: "crew", to: "worker", task, timeoutSeconds: 240, maxAttempts: 3 },
    });
    return waitFor(
      `${name} running on a worker pod`,
      async () => {
        const d = await get(["-n", NS, "delegation", name]);
        return d.status?.attempts?.find((a: Obj) => a.outcome === "Running")?.pod as string | undefined;
      },
      120_000,
    );
  };
  const finished = (name: string) =>
    waitFor(
      `${name} to finish`,
      async () => {
        const d = await get(["-n", NS, "delegation", name]);
        return ["Succeeded", "Failed"].includes(d.status?.phase) ? d : undefined;
      },
      300_000,
    );
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("fails over to the other worker replica when the pod running a task is killed, and finishes it once", async () => {
    const task = "hold 20s then answer T-10";
    const first = await startHeldTask("failover", task);
    await sleep(3_000); // the gateway's turn is under way, waiting on the stub LLM
    await kubectlOk(kubeconfig, ["-n", NS, "delete", "pod", first, "--grace-period=0", "--force"]);
    const done = await finished("failover");
    expect(done.status.phase, JSON.stringify(done.status)).toBe("Succeeded");
    expect(done.status.result).toBe(`Answer from the stub LLM: ${task}`);
    const attempts = done.status.attempts as Obj[];
    expect(attempts.filter((a) => a.outcome === "Succeeded")).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ pod: first, outcome: "Failed" });
    const last = attempts.at(-1)!;
    expect(last.outcome).toBe("Succeeded");
    expect(last.pod).not.toBe(first);
    expect(done.status.pod).toBe(last.pod);
  });

  it("lets the standby take over when the leading operator pod is killed, and finishes the task in flight once", async () => {
    const lease = async () => (await get(["-n", OPERATOR_NAMESPACE, "lease", "clawcrew-operator"])).spec.holderIdentity;
    const leader = await lease();
    const task = "hold 15s then answer T-11";
    await startHeldTask("leader-change", task);
    await kubectlOk(kubeconfig, ["-n", OPERATOR_NAMESPACE, "delete", "pod", leader, "--grace-period=0", "--force"]);
    const next = await waitFor(
      "another operator pod to lead",
      async () => {
        const holder = await lease();
        return holder && holder !== leader ? (holder as string) : undefined;
      },
      120_000,
    );
    expect(next).not.toBe(leader);
    const done = await finished("leader-change");
    expect(done.status.phase, JSON.stringify(done.status)).toBe("Succeeded");
    expect(done.status.result).toBe(`Answer from the stub LLM: ${task}`);
    expect((done.status.attempts as Obj[]).filter((a) => a.outcome === "Succeeded")).toHaveLength(1);
    // One terminal write: the Delegation finished once, and no attempt is still marked running.
    expect((done.status.attempts as Obj[]).filter((a) => a.outcome === "Running")).toEqual([]);
  });
});
