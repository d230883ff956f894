/**
 * Benchmark on the real node (harness/real-node; root needed): the operator installed by helm
 * from its image, real OpenClaw gateways in containers, the stub LLM in the cluster. Each figure is
 * set against a baseline measured in the same run:
 *  1. Agent create → Ready, split into what comes before the pod, the pod's image and boot time, and
 *     the status; against a plain Deployment with the same pod template.
 *  2. The operator pods' memory under the kubelet, idle and while the example team works; against
 *     the stub LLM's pod (Node 24 serving HTTP, on the same base image).
 *  3. A delegation through the operator's Service, and a chat call through the gateway's Service;
 *     against a direct chat call to the same gateway pod's IP, all from one client pod.
 * Prints a markdown report on stdout; progress goes to stderr. See docs/benchmarks.md ("Real node").
 *
 *   hack/node24.sh node bench/real-node.ts [--samples 3] [--calls 20] [--idle-seconds 20] [--timeout-seconds 300]
 */
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { AppsV1Api, CustomObjectsApi, KubeConfig, type V1Deployment, type V1Pod } from "@kubernetes/client-node";
import { kubectl, kubectlOk } from "../harness/index.ts";
import {
  createNamespace,
  deployStubLlm,
  installClawcrew,
  NODE_NAME,
  OPERATOR_NAMESPACE,
  RELEASE,
  STUB_PROVIDER,
  shellPod,
  startRealCluster,
} from "../harness/real-node/index.ts";
import { GATEWAY_PORT } from "../src/openclaw/version.ts";
import { type BootTimes, conditionTrue, timeBoot } from "./lib/boot-timing.ts";
import { type ContainerMemory, containerMemory } from "./lib/kubelet-stats.ts";
import { exitOnHelp, intOption } from "./lib/options.ts";
import { runBench } from "./lib/run.ts";
import { mib, ms, percentile, summarize, table } from "./lib/stats.ts";
import { TimedWatch } from "./lib/watch.ts";

const USAGE =
  "usage: hack/node24.sh node bench/real-node.ts [--samples N] [--calls N] [--idle-seconds S] [--timeout-seconds T]";
const NAMESPACE = "bench";
const AGENT_LABEL = "clawcrew.io/agent";
const PLAIN_LABEL = "bench.clawcrew.io/plain";
const CLIENT_SOURCE = new URL("./lib/in-pod-client.ts", import.meta.url);

interface Options {
  samples: number;
  calls: number;
  idleMs: number;
  timeoutMs: number;
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      samples: { type: "string", default: "3" },
      calls: { type: "string", default: "20" },
      "idle-seconds": { type: "string", default: "20" },
      "timeout-seconds": { type: "string", default: "300" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  exitOnHelp(values.help, USAGE);
  return {
    samples: intOption("samples", values.samples, 1, 20),
    calls: intOption("calls", values.calls, 1, 500),
    idleMs: intOption("idle-seconds", values["idle-seconds"], 0, 600) * 1000,
    timeoutMs: intOption("timeout-seconds", values["timeout-seconds"], 30, 3600) * 1000,
  };
}

const agent = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "Agent",
  metadata: { name, namespace: NAMESPACE },
  spec: {
    description: `The ${name}.`,
    soul: `# ${name}\nYou answer benchmark calls.`,
    model: { primary: "stub/stub-model", providers: [STUB_PROVIDER] },
    credentials: { secretRef: { name: "llm-credentials" } },
    ...spec,
  },
});

/** A Deployment running the Agent's own pod template (same image, config, probes), without the operator. */
function plainDeployment(name: string, of: V1Deployment): V1Deployment {
  const template = structuredClone(of.spec!.template);
  template.metadata = { labels: { [PLAIN_LABEL]: name }, annotations: template.metadata?.annotations ?? {} };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NAMESPACE },
    spec: { replicas: 1, selector: { matchLabels: { [PLAIN_LABEL]: name } }, template },
  };
}

async function main(options: Options, signal: AbortSignal, cleanups: (() => Promise<void>)[]): Promise<string> {
  const load0 = loadavg();
  const started = new Date();
  const wait = { timeoutMs: options.timeoutMs, signal };
  const cluster = await startRealCluster({ signal, log, timeoutMs: options.timeoutMs });
  cleanups.push(() => cluster.stop());
  const kubeconfig = cluster.kubeconfigPath;
  await deployStubLlm(kubeconfig);
  await installClawcrew(kubeconfig);
  await createNamespace(kubeconfig, NAMESPACE);
  await kubectlOk(
    kubeconfig,
    ["-n", NAMESPACE, "create", "secret", "generic", "llm-credentials"].concat(["--from-literal=STUB_API_KEY=stub"]),
  );

  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const agents = new TimedWatch(kc, `/apis/clawcrew.io/v1alpha1/namespaces/${NAMESPACE}/agents`, "Agent", log);
  const pods = new TimedWatch<V1Pod>(kc, `/api/v1/namespaces/${NAMESPACE}/pods`, "Pod", log);
  for (const w of [agents, pods]) {
    await w.start();
    cleanups.push(async () => w.stop());
  }

  // --- 2a. memory, idle ---
  log(`idling ${options.idleMs / 1000} s before reading memory`);
  await sleep(options.idleMs, undefined, { signal });
  const idle = await containerMemory(kubeconfig, NODE_NAME);

  // --- 1. create → Ready, an Agent and then a Deployment of its pod template, one at a time ---
  const agentBoots: BootTimes[] = [];
  const plainBoots: BootTimes[] = [];
  for (let i = 0; i < options.samples; i++) {
    const name = `boot-${i}`;
    const statusReady = agents.when(name, (a) => conditionTrue(a), { ...wait, what: `Agent ${name} Ready` });
    const create = () =>
      custom.createNamespacedCustomObject({
        group: "clawcrew.io",
        version: "v1alpha1",
        namespace: NAMESPACE,
        plural: "agents",
        body: agent(name),
      });
    agentBoots.push(await timeBoot(pods, { label: AGENT_LABEL, value: name }, create, wait, statusReady));
    const template = await apps.readNamespacedDeployment({ name, namespace: NAMESPACE });
    const plain = plainDeployment(`plain-${i}`, template);
    plainBoots.push(
      await timeBoot(
        pods,
        { label: PLAIN_LABEL, value: `plain-${i}` },
        () => apps.createNamespacedDeployment({ namespace: NAMESPACE, body: plain }),
        wait,
      ),
    );
    log(
      `sample ${i + 1}/${options.samples}: Agent ${ms(agentBoots[i]!.totalMs)}, Deployment ${ms(plainBoots[i]!.totalMs)}`,
    );
    await kubectlOk(kubeconfig, ["-n", NAMESPACE, "delete", `deploy/plain-${i}`, `agent/${name}`, "--wait=true"]);
    await kubectlOk(kubeconfig, ["-n", NAMESPACE, "wait", "pods", "--all", "--for=delete", "--timeout=180s"]);
  }

  // --- 3. the example team working; a client pod calls the same worker pod three ways ---
  await kubectlOk(kubeconfig, ["-n", NAMESPACE, "apply", "-f", "-"], {
    apiVersion: "v1",
    kind: "List",
    items: [
      agent("lead", { capabilities: ["planning"] }),
      agent("worker", { capabilities: ["research"] }),
      {
        apiVersion: "clawcrew.io/v1alpha1",
        kind: "AgentTeam",
        metadata: { name: "crew", namespace: NAMESPACE },
        // Without isolation, so the client pod can call the gateway directly as well as the endpoint.
        spec: { pattern: "hubAndSpoke", lead: "lead", members: [{ agent: "worker" }], networkIsolation: false },
      },
      // The delegator label lets the chart's NetworkPolicy admit it to the delegation endpoint.
      shellPod("bench-client", NAMESPACE, { "clawcrew.io/delegator": "true" }),
    ],
  });
  // The team's roster re-renders the lead's config after the lead was first Ready: wait for that rollout.
  await kubectlOk(kubeconfig, ["-n", NAMESPACE, "wait", "agentteam/crew", "--for=condition=Ready", "--timeout=300s"]);
  for (const deploy of ["deploy/lead", "deploy/worker"]) {
    await kubectlOk(kubeconfig, ["-n", NAMESPACE, "rollout", "status", deploy, "--timeout=300s"]);
  }
  await kubectlOk(kubeconfig, ["-n", NAMESPACE, "wait", "pod/bench-client", "--for=condition=Ready", "--timeout=120s"]);
  const workerPod = await podOf(kubeconfig, "worker");
  // The gateway token calls an agent's gateway; the delegation token calls the endpoint as the agent.
  const token = async (agentName: string, key: "token" | "delegation-token" = "token") =>
    Buffer.from(
      await kubectlOk(kubeconfig, [
        "-n",
        NAMESPACE,
        "get",
        "secret",
        `${agentName}-token`,
        "-o",
        `jsonpath={.data.${key}}`,
      ]),
      "base64",
    ).toString();
  const chatPath = "/v1/chat/completions";
  const config = {
    warmup: 2,
    calls: options.calls,
    targets: [
      {
        name: "direct",
        kind: "chat",
        url: `http://${workerPod.status!.podIP}:${GATEWAY_PORT}${chatPath}`,
        token: await token("worker"),
      },
      {
        name: "gatewayService",
        kind: "chat",
        url: `http://worker.${NAMESPACE}.svc.cluster.local:${GATEWAY_PORT}${chatPath}`,
        token: await token("worker"),
      },
      {
        name: "delegation",
        kind: "delegate",
        agent: "worker",
        url: `http://${RELEASE}-delegation.${OPERATOR_NAMESPACE}.svc.cluster.local:8082/v1/delegations?wait=true`,
        token: await token("lead", "delegation-token"),
      },
    ],
  };
  const peaks = new Map<string, number>();
  const sampler = sampleMemory(kubeconfig, peaks, signal);
  log(`${options.calls} calls (after 2 warm-up calls) each way, interleaved, from pod bench-client`);
  const run = await kubectl(
    kubeconfig,
    [
      "-n",
      NAMESPACE,
      "exec",
      "-i",
      "bench-client",
      "--",
      "node",
      "--input-type=module-typescript",
      "-",
      JSON.stringify(config),
    ],
    readFileSync(CLIENT_SOURCE, "utf8"),
  );
  sampler.stop();
  await sampler.done;
  if (run.code !== 0) throw new Error(`the client pod failed: ${run.stderr}`);
  const client = JSON.parse(run.stdout) as { samples: Record<string, number[]>; failures: Record<string, string[]> };
  const working = await containerMemory(kubeconfig, NODE_NAME);
  const leader = (
    await kubectlOk(kubeconfig, [
      "-n",
      OPERATOR_NAMESPACE,
      "get",
      "lease",
      "clawcrew-operator",
      "-o",
      "jsonpath={.spec.holderIdentity}",
    ])
  ).trim();

  return report({
    options,
    started,
    load: [load0, loadavg()],
    agentBoots,
    plainBoots,
    memory: { idle, working, peaks, leader },
    client,
    timings: cluster.timings,
  });
}

/** The agent's serving pod: Ready and not terminating. */
async function podOf(kubeconfig: string, agentName: string): Promise<V1Pod> {
  const list = JSON.parse(
    await kubectlOk(kubeconfig, ["-n", NAMESPACE, "get", "pods", "-l", `${AGENT_LABEL}=${agentName}`, "-o", "json"]),
  ) as { items: V1Pod[] };
  const pod = list.items.find((p) => !p.metadata?.deletionTimestamp && conditionTrue(p));
  if (!pod) throw new Error(`no Ready pod of Agent ${agentName}`);
  return pod;
}

/** Reads the kubelet's memory figures every 2 s, keeping each container's peak working set, until stopped. */
function sampleMemory(kubeconfig: string, peaks: Map<string, number>, signal: AbortSignal) {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const done = (async () => {
    while (!both.aborted) {
      for (const c of await containerMemory(kubeconfig, NODE_NAME).catch(() => [])) {
        const key = `${c.namespace}/${c.pod}/${c.container}`;
        peaks.set(key, Math.max(peaks.get(key) ?? 0, c.workingSetBytes));
      }
      await sleep(2_000, undefined, { signal: both }).catch(() => {});
    }
  })();
  return { stop: () => stop.abort(), done };
}

interface ReportInput {
  options: Options;
  started: Date;
  load: [number[], number[]];
  agentBoots: BootTimes[];
  plainBoots: BootTimes[];
  memory: { idle: ContainerMemory[]; working: ContainerMemory[]; peaks: Map<string, number>; leader: string };
  client: { samples: Record<string, number[]>; failures: Record<string, string[]> };
  timings: Record<string, number>;
}

function report(r: ReportInput): string {
  const p50 = (xs: number[]) => percentile(xs, 50);
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "–");
  const pick = (boots: BootTimes[], key: keyof BootTimes) => boots.map((b) => b[key]);
  const bootRow = (label: string, key: keyof BootTimes) => {
    const a = p50(pick(r.agentBoots, key));
    const d = p50(pick(r.plainBoots, key));
    return [label, ms(a), ms(d), key === "readyToStatusMs" ? "–" : ratio(a, d)];
  };
  const operatorAdds =
    p50(pick(r.agentBoots, "toPodMs")) -
    p50(pick(r.plainBoots, "toPodMs")) +
    p50(pick(r.agentBoots, "readyToStatusMs"));

  const mibOf = (bytes: number | undefined) => mib(bytes === undefined ? undefined : bytes / 1024);
  const find = (list: ContainerMemory[], ns: string, container: string, podPrefix = "") =>
    list.filter((c) => c.namespace === ns && c.container === container && c.pod.startsWith(podPrefix));
  const stubIdle = find(r.memory.idle, OPERATOR_NAMESPACE, "stub-llm")[0]?.workingSetBytes ?? 0;
  const memoryRows = find(r.memory.idle, OPERATOR_NAMESPACE, "operator").map((c) => {
    const role = r.memory.leader.includes(c.pod) ? "leader" : "standby";
    const now = find(r.memory.working, OPERATOR_NAMESPACE, "operator", c.pod)[0]?.workingSetBytes;
    const peak = Math.max(r.memory.peaks.get(`${c.namespace}/${c.pod}/${c.container}`) ?? 0, now ?? 0) || undefined;
    return [
      `operator (${role})`,
      mibOf(c.workingSetBytes),
      mibOf(now),
      mibOf(peak),
      ratio(c.workingSetBytes, stubIdle),
      peak ? ratio(peak, stubIdle) : "–",
    ];
  });
  const gateway = find(r.memory.working, NAMESPACE, "gateway", "worker")[0]?.workingSetBytes;
  memoryRows.push(["stub LLM (baseline)", mibOf(stubIdle), "", "", "1.00×", ""]);
  memoryRows.push([
    "an OpenClaw gateway (worker), for scale",
    "",
    mibOf(gateway),
    "",
    "",
    gateway ? ratio(gateway, stubIdle) : "–",
  ]);

  const direct = r.client.samples.direct ?? [];
  const callRow = (label: string, name: string) => {
    const s = summarize(r.client.samples[name] ?? []);
    return [
      label,
      String(s.n),
      ms(s.p50),
      ms(s.p90),
      ms(s.max),
      ratio(s.p50, p50(direct)),
      String(r.client.failures[name]?.length ?? 0),
    ];
  };
  const failures = Object.entries(r.client.failures).flatMap(([name, list]) => list.map((f) => `- ${name}: ${f}`));

  return [
    "## bench/real-node.ts",
    "",
    `- started ${r.started.toISOString()}; ${r.options.samples} boot samples, ${r.options.calls} calls each way`,
    `- machine: nproc ${availableParallelism()}, ${cpus()[0]?.model ?? "unknown CPU"}, Linux ${release()}; load average ${r.load[0].map((l) => l.toFixed(2)).join(" ")} at start, ${r.load[1].map((l) => l.toFixed(2)).join(" ")} at end`,
    `- cluster start-up (ms): ${JSON.stringify(r.timings)}`,
    "",
    "### Agent create → Ready (p50), against a Deployment of the same pod template",
    "",
    table(
      ["step", "Agent", "plain Deployment", "ratio"],
      [
        bootRow("create → pod exists", "toPodMs"),
        bootRow("pod exists → pod Ready (image, sandbox, OpenClaw boot, probe)", "podToReadyMs"),
        bootRow("pod Ready → Agent Ready condition", "readyToStatusMs"),
        bootRow("create → Ready", "totalMs"),
      ],
    ),
    "",
    `What the operator adds (p50 of before-the-pod, Agent − Deployment, plus the status): ${ms(operatorAdds)}.`,
    "Pod exists → Ready is the kubelet's and OpenClaw's, in steps of the probes' 5 s period, so totals differ by multiples of it.",
    "",
    "### Memory under the kubelet (container working set, Summary API), against the stub LLM's pod",
    "",
    table(["container", "idle", "team working (end)", "team working (peak)", "idle ratio", "peak ratio"], memoryRows),
    "",
    "### A call from a client pod to the same worker pod, against a direct call to its IP",
    "",
    table(
      ["path", "n", "p50", "p90", "max", "p50 ratio", "failed"],
      [
        callRow("chat call to the gateway pod's IP (baseline)", "direct"),
        callRow("chat call through the gateway's Service (DNS, kube-proxy)", "gatewayService"),
        callRow("delegation through the operator's Service (REST, wait=true)", "delegation"),
      ],
    ),
    "",
    `What the operator adds to a call (p50, delegation − direct): ${ms(p50(r.client.samples.delegation ?? []) - p50(direct))}`,
    ...(failures.length > 0 ? ["", "Failed calls:", ...failures] : []),
    "",
  ].join("\n");
}

process.exitCode = await runBench({
  usage: USAGE,
  parseOptions,
  main,
  runLimitMs: 60 * 60_000,
  log,
  operatorLogFile: () => undefined,
});
