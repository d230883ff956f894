/**
 * The test pod network (harness/podnet): on a control plane of its own whose kwok leaves readiness to
 * the pod agent, a Deployment's pods get a network namespace on the bridge with their kwok pod IP, run the stub
 * gateway, become Ready only once it answers, and drop out of their Service's EndpointSlice when killed.
 * Needs root (network namespaces, a bridge), like the e2e suite.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer } from "node:net";
import { promisify } from "node:util";
import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  type V1Deployment,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ControlPlane,
  eventually,
  installSignalCleanup,
  startControlPlane,
  startStubLlm,
} from "../../harness/index.ts";
import {
  BRIDGE_ADDRESS,
  BRIDGE_NAME,
  createPodNetwork,
  LOCK_FILE,
  listPodNetLinks,
  listSandboxNetns,
  type PodAgent,
  type PodNetwork,
  startPodAgent,
} from "../../harness/podnet/index.ts";
import { desiredObjects, tokenSecret } from "../../src/agent/desired.ts";
import { type Agent, AgentSpec } from "../../src/api/agent.ts";

const NAMESPACE = "podnet";
const APP = "podnet-stub";
const TOKEN = randomBytes(16).toString("hex");
/** Opt-in: also run a REAL OpenClaw gateway in the pod network (about 1 GiB and 10-30 s). */
const WITH_OPENCLAW = process.env.CLAWCREW_PODNET_OPENCLAW === "1";

const isReady = (pod: V1Pod) => pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function chat(ip: string, bearer?: string, timeoutMs = 5_000): Promise<{ status: number; reply?: string }> {
  const response = await fetch(`http://${ip}:18789/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(bearer && { authorization: `Bearer ${bearer}` }) },
    body: JSON.stringify({ model: "openclaw/default", messages: [{ role: "user", content: `hello ${ip}` }] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { choices?: { message: { content: string } }[] };
  return { status: response.status, reply: body.choices?.[0]?.message.content };
}

describe("pod network", () => {
  let cp: ControlPlane | undefined;
  let network: PodNetwork | undefined;
  let agent: PodAgent | undefined;
  let openclawAgent: PodAgent | undefined;
  let removeSignalCleanup: (() => void) | undefined;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let discovery: DiscoveryV1Api;
  const timings: Record<string, number> = {};

  const listPods = async () =>
    (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${APP}` })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root: it creates network namespaces and a bridge");
    removeSignalCleanup = installSignalCleanup();
    let t0 = performance.now();
    cp = await startControlPlane({ podReadiness: "external", log: () => {} });
    timings.controlPlaneMs = Math.round(performance.now() - t0);
    t0 = performance.now();
    network = await createPodNetwork({ log: () => {} });
    timings.networkMs = Math.round(performance.now() - t0);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    discovery = kc.makeApiClient(DiscoveryV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: { metadata: { name: `${APP}-token` }, stringData: { token: TOKEN } },
    });
    await core.createNamespacedService({
      namespace: NAMESPACE,
      body: {
        metadata: { name: APP },
        spec: { selector: { app: APP }, ports: [{ name: "http", port: 18789, targetPort: "http" }] },
      },
    });
  });

  afterAll(async () => {
    const pids = [...(agent?.startedPids() ?? []), ...(openclawAgent?.startedPids() ?? [])];
    try {
      await agent?.stop();
      await openclawAgent?.stop();
      await network?.destroy();
      await cp?.stop();
    } finally {
      removeSignalCleanup?.();
      console.log(`[podnet] ${JSON.stringify(timings)}`);
    }
    // Nothing is left: no namespace, no link, no process, no lock.
    expect(listSandboxNetns()).toEqual([]);
    expect(listPodNetLinks()).toEqual([]);
    expect(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).not.toContain(BRIDGE_NAME);
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(existsSync(LOCK_FILE)).toBe(false);
  });

  it("leaves pods not Ready until their stub gateway answers, then marks them Ready", async () => {
    const deployment: V1Deployment = {
      metadata: { name: APP },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: APP } },
        template: {
          metadata: { labels: { app: APP } },
          spec: {
            containers: [
              {
                name: "gateway",
                image: "registry.invalid/clawcrew/stub-gateway:1",
                ports: [{ name: "http", containerPort: 18789 }],
                env: [
                  {
                    name: "OPENCLAW_GATEWAY_TOKEN",
                    valueFrom: { secretKeyRef: { name: `${APP}-token`, key: "token" } },
                  },
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                ],
              },
            ],
          },
        },
      },
    };
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment });
    // kwok gives them IPs and Running, but no readiness: nothing answers yet.
    const pods = await eventually("2 Running pods with IPs", async () => {
      const items = await listPods();
      return items.length === 2 && items.every((p) => p.status?.phase === "Running" && p.status.podIP)
        ? items
        : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await listPods()).filter(isReady)).toEqual([]);
    for (const pod of pods) expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeDefined();

    const t0 = performance.now();
    agent = startPodAgent({
      kubeconfig: cp!.kubeconfigPath,
      runtime: "stub",
      namespace: NAMESPACE,
      labelSelector: `app=${APP}`,
      log: () => {},
    });
    const ready = await eventually(
      "both pods Ready",
      async () => {
        const items = await listPods();
        return items.length === 2 && items.every(isReady) ? items : undefined;
      },
      { timeoutMs: 60_000 },
    );
    timings.bothReadyMs = Math.round(performance.now() - t0);
    for (const pod of ready) {
      const info = agent.pod(pod.metadata!.name!, NAMESPACE);
      expect(info?.state).toBe("ready");
      expect(info?.ip).toBe(pod.status?.podIP);
      expect(info?.readyMs).toBeGreaterThan(0);
      expect(pod.status?.containerStatuses?.find((c) => c.name === "gateway")?.ready).toBe(true);
      expect(pod.status?.conditions?.find((c) => c.type === "ContainersReady")?.status).toBe("True");
      // The gateway runs as the image's user, in its own network namespace.
      const init = info!.initPid!;
      const [gateway] = childPids(init);
      expect(readFileSync(`/proc/${gateway}/status`, "utf8")).toMatch(/^Uid:\s+1000\s/m);
      expect(listSandboxNetns()).toContain(info!.netns);
    }
    timings.readyMsPerPod = Math.max(...agent.pods().map((p) => p.readyMs ?? 0));
  });

  it("serves each pod IP to the host with the token, and refuses without it", async () => {
    for (const pod of await listPods()) {
      const ip = pod.status!.podIP!;
      const t0 = performance.now();
      expect(await chat(ip, TOKEN)).toEqual({ status: 200, reply: `ok:hello ${ip}` });
      timings.chatMs = Math.round(performance.now() - t0);
      expect((await chat(ip)).status).toBe(401);
      expect((await chat(ip, "not-the-token")).status).toBe(401);
    }
  });

  it("lets a pod reach a server on the bridge address", async () => {
    const server: Server = createServer((req, res) => res.end(`host saw ${req.socket.remoteAddress}`));
    await new Promise<void>((resolve) => server.listen(0, BRIDGE_ADDRESS, resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const [pod] = await listPods();
      const info = agent!.pod(pod!.metadata!.name!, NAMESPACE)!;
      // Run node inside the pod's namespaces as the pod's user, as the gateway would dial the stub LLM.
      // Asynchronously: the server answers from this process's event loop.
      const { stdout: out } = await promisify(execFile)(
        "nsenter",
        [
          `--target=${info.initPid}`,
          "--net",
          "--mount",
          "--setuid=1000",
          "--setgid=1000",
          "/mnt/node/bin/node",
          "-e",
          `fetch("http://${BRIDGE_ADDRESS}:${port}/").then(r => r.text()).then(t => console.log(t))`,
        ],
        { encoding: "utf8", timeout: 20_000 },
      );
      expect(out.trim()).toBe(`host saw ${info.ip}`);
    } finally {
      server.close();
    }
  });

  const readyAddresses = async () => {
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: NAMESPACE,
      labelSelector: `kubernetes.io/service-name=${APP}`,
    });
    return slices.items
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready === true)
      .flatMap((e) => e.addresses)
      .sort();
  };

  it("lists both pod IPs as ready endpoints of the Service", async () => {
    const ips = (await listPods()).map((p) => p.status!.podIP!).sort();
    await eventually("both IPs ready in the EndpointSlice", async () =>
      JSON.stringify(await readyAddresses()) === JSON.stringify(ips) ? true : undefined,
    );
  });

  it("marks a killed pod not Ready and drops it from the ready endpoints", async () => {
    const [victim, survivor] = await listPods();
    const name = victim!.metadata!.name!;
    const t0 = performance.now();
    await agent!.kill(name, NAMESPACE);
    timings.killToNotReadyMs = Math.round(performance.now() - t0);
    expect(agent!.pod(name, NAMESPACE)?.state).toBe("exited");
    const pod = await core.readNamespacedPod({ name, namespace: NAMESPACE });
    expect(isReady(pod)).toBe(false);
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toBeDefined();
    await expect(chat(victim!.status!.podIP!, TOKEN)).rejects.toThrow();
    await eventually("only the survivor is a ready endpoint", async () =>
      JSON.stringify(await readyAddresses()) === JSON.stringify([survivor!.status!.podIP]) ? true : undefined,
    );
    timings.killToSliceMs = Math.round(performance.now() - t0);
    expect((await chat(survivor!.status!.podIP!, TOKEN)).status).toBe(200);
  });

  it("removes the sandboxes when the Deployment is deleted", async () => {
    const netns = agent!.pods().map((p) => p.netns);
    expect(netns).toHaveLength(2);
    await apps.deleteNamespacedDeployment({ name: APP, namespace: NAMESPACE });
    await eventually("the pods and their sandboxes to be gone", async () =>
      (await listPods()).length === 0 && agent!.pods().length === 0 ? true : undefined,
    );
    const left = listSandboxNetns();
    for (const name of netns) expect(left).not.toContain(name);
    // The bridge stays until the network is destroyed; no veth of a pod is left on it.
    expect(listPodNetLinks()).toEqual([BRIDGE_NAME]);
  });

  it.runIf(WITH_OPENCLAW)(
    "runs a real OpenClaw gateway from an agent pod's ConfigMap, env and Secrets",
    async () => {
      const namespace = "podnet-openclaw";
      const stub = await startStubLlm({ models: ["stub-model"], reply: { content: "OPENCLAW-IN-PODNET" } });
      // The stub LLM listens on loopback: relay it onto the bridge address, where pods can reach it.
      const relay = createTcpServer((socket) => {
        const upstream = connect(Number(new URL(stub.baseUrl).port), "127.0.0.1");
        socket.pipe(upstream).pipe(socket);
        socket.on("error", () => upstream.destroy());
        upstream.on("error", () => socket.destroy());
      });
      await new Promise<void>((resolve) => relay.listen(0, BRIDGE_ADDRESS, resolve));
      try {
        await core.createNamespace({ body: { metadata: { name: namespace } } });
        const spec = AgentSpec.parse({
          soul: "You are a test agent.",
          model: {
            primary: "stub/stub-model",
            providers: [
              {
                name: "stub",
                baseUrl: `http://${BRIDGE_ADDRESS}:${(relay.address() as AddressInfo).port}/v1`,
                api: "openai-completions",
                apiKeyEnv: "STUB_API_KEY",
                models: [{ id: "stub-model", contextWindow: 128000, maxTokens: 4096 }],
              },
            ],
          },
          credentials: { secretRef: { name: "llm-credentials" } },
        });
        const agentObject = {
          apiVersion: "clawcrew.io/v1alpha1",
          kind: "Agent",
          metadata: { name: "tally", namespace, uid: "00000000-0000-4000-8000-000000000001" },
          spec,
        } as Agent;
        // No Agent exists: drop the owner references, or the garbage collector would delete the objects.
        const unowned = <T extends { metadata?: { ownerReferences?: unknown } }>(object: T): T => {
          delete object.metadata?.ownerReferences;
          return object;
        };
        const objects = desiredObjects(agentObject, { soul: "You are a test agent." });
        const token = randomBytes(16).toString("hex");
        const delegation = randomBytes(16).toString("hex");
        await core.createNamespacedSecret({
          namespace,
          body: unowned(tokenSecret(agentObject, { gateway: token, delegation })),
        });
        await core.createNamespacedSecret({
          namespace,
          body: { metadata: { name: "llm-credentials" }, stringData: { STUB_API_KEY: "sk-stub-podnet" } },
        });
        await core.createNamespacedServiceAccount({ namespace, body: unowned(objects.serviceAccount) });
        await core.createNamespacedConfigMap({ namespace, body: unowned(objects.configMap) });
        if (objects.workload.kind !== "Deployment") throw new Error("expected a Deployment");
        await apps.createNamespacedDeployment({ namespace, body: unowned(objects.workload.object) });

        const t0 = performance.now();
        openclawAgent = startPodAgent({
          kubeconfig: cp!.kubeconfigPath,
          runtime: "openclaw",
          namespace,
          log: () => {},
        });
        const pod = await eventually(
          "the OpenClaw pod Ready",
          async () => {
            const [item] = (await core.listNamespacedPod({ namespace })).items;
            const info = item && openclawAgent!.pod(item.metadata!.name!, namespace);
            if (info?.state === "failed" || info?.state === "exited") {
              throw new Error(`gateway ${info.state}: ${info.error?.message}\n${info.output().slice(-3000)}`);
            }
            return item && isReady(item) ? item : undefined;
          },
          { timeoutMs: 180_000, intervalMs: 500 },
        );
        timings.openclawReadyMs = Math.round(performance.now() - t0);
        const ip = pod.status!.podIP!;
        expect((await chat(ip)).status).toBe(401);
        const t1 = performance.now();
        const { status, reply } = await chat(ip, token, 120_000); // a first turn takes 4-10 s
        timings.openclawTurnMs = Math.round(performance.now() - t1);
        expect(status).toBe(200);
        expect(reply).toBe("OPENCLAW-IN-PODNET");
        expect(
          stub
            .chatRequests()[0]
            ?.messages.map((m) => JSON.stringify(m.content))
            .join(" "),
        ).toContain(`hello ${ip}`);
        const t2 = performance.now();
        await openclawAgent.stop();
        timings.openclawStopMs = Math.round(performance.now() - t2);
      } finally {
        relay.close();
        await stub.close();
      }
    },
    300_000,
  );
});
