import { availableParallelism, cpus, loadavg, release } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { AppsV1Api, CustomObjectsApi, type KubernetesObject, type V1Deployment } from "@kubernetes/client-node";
import { KubeClient } from "../src/runtime/client.ts";
import { startBenchCluster } from "./lib/cluster.ts";
import { startBenchOperator } from "./lib/operator.ts";
import { exitOnHelp, intOption } from "./lib/options.ts";
import { procCpuMs, procMemory } from "./lib/proc.ts";
import { parse, type Samples, scrape, series, sum } from "./lib/prom.ts";
import { runBench } from "./lib/run.ts";
import { mib, ms, type Summary, summarize, table } from "./lib/stats.ts";
import { TimedWatch } from "./lib/watch.ts";

const USAGE =
  "usage: hack/node24.sh node bench/agent-reconcile.ts [--agents N] [--idle-seconds S] [--timeout-seconds T] [--concurrency C] [--keep-logs]";
const NAMESPACE = "bench";
const GROUP = "clawcrew.io";
const VERSION = "v1alpha1";
const CONFIG_HASH = "clawcrew.io/config-hash";
/** Pause between two samples of a sequential phase, so each one starts on a quiet operator. */
const SEQUENTIAL_GAP_MS = 250;
/** Quiet time at the end of a phase before the operator's and the API server's counters are read. */
const SETTLE_MS = 1000;
/** Whole-run limit, on top of the per-wait --timeout-seconds. */
const RUN_LIMIT_MS = 30 * 60_000;

interface AgentObject extends KubernetesObject {
  spec?: { soul?: string };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string }[];
    configHash?: string;
  };
}

interface Options {
  agents: number;
  idleMs: number;
  timeoutMs: number;
  concurrency: number | undefined;
  keepLogs: boolean;
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
/** Set once the operator runs, to show the end of its log when the run fails. */
let operatorLogFile: string | undefined;

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      agents: { type: "string", default: "20" },
      "idle-seconds": { type: "string", default: "10" },
      "timeout-seconds": { type: "string", default: "120" },
      concurrency: { type: "string" },
      "keep-logs": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  exitOnHelp(values.help, USAGE);
  return {
    agents: intOption("agents", values.agents, 1, 200),
    idleMs: intOption("idle-seconds", values["idle-seconds"], 0, 300) * 1000,
    timeoutMs: intOption("timeout-seconds", values["timeout-seconds"], 5, 1800) * 1000,
    concurrency: values.concurrency === undefined ? undefined : intOption("concurrency", values.concurrency, 1, 64),
    keepLogs: values["keep-logs"],
  };
}

// --- predicates -------------------------------------------------------------------------------

const readyCondition = (a: AgentObject) => a.status?.conditions?.find((c) => c.type === "Ready");

/** The definition of "Ready" used throughout: Ready=True for the current generation. */
const agentReady = (a: AgentObject) =>
  readyCondition(a)?.status === "True" && a.status?.observedGeneration === a.metadata?.generation;

const deploymentAvailable = (d: V1Deployment) => d.status?.availableReplicas === 1;

/** The rollout of a template change is over: one updated, available replica and no old one. */
const rolledOut = (d: V1Deployment, afterGeneration: number) =>
  (d.metadata?.generation ?? 0) > afterGeneration &&
  (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
  d.status?.updatedReplicas === 1 &&
  d.status?.replicas === 1 &&
  d.status?.availableReplicas === 1;

const templateHash = (d: V1Deployment | undefined) => d?.spec?.template?.metadata?.annotations?.[CONFIG_HASH];

/** Keeps a promise from becoming an unhandled rejection while something else is awaited first. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

// --- objects ----------------------------------------------------------------------------------

function agentManifest(name: string) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "Agent",
    metadata: { name },
    spec: { soul: `# ${name}\nYou are ${name}.`, model: { primary: "openai/gpt-5" } },
  };
}

function baselineDeployment(name: string): V1Deployment {
  const labels = { "bench.clawcrew.io/deployment": name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }],
        },
      },
    },
  };
}

// --- operator statistics per phase ------------------------------------------------------------

interface Snapshot {
  cpuMs: number;
  operator: Samples;
  apiserver: Samples;
}

interface PhaseStats {
  phase: string;
  /** What the phase creates or changes: Agents (the operator works) or Deployments (it idles). */
  kind: "Agent" | "Deployment";
  objects: number;
  /** Requests the API server completed for resources (not /metrics, /healthz ...), from every client. */
  apiRequests: number;
  /** Server-side applies: only the operator uses them. */
  applies: number;
  reconciles: number;
  errors: number;
  reconcileSeconds: number;
  queueWaits: number;
  queueSeconds: number;
  cpuMs: number;
  /** Server-side time of the operator's kinds of requests: "APPLY deployments" → count, seconds. */
  serverTime: Map<string, { count: number; seconds: number }>;
}

/** What the operator writes and reads while reconciling an Agent. */
const OPERATOR_RESOURCES = new Set([
  "agents",
  "configmaps",
  "deployments",
  "poddisruptionbudgets",
  "secrets",
  "serviceaccounts",
  "services",
  "statefulsets",
]);

/** Request count and total seconds per "VERB resource[/subresource]" of OPERATOR_RESOURCES, from the API server. */
function requestTimes(samples: Samples): Map<string, { count: number; seconds: number }> {
  const out = new Map<string, { count: number; seconds: number }>();
  const add = (metric: string, field: "count" | "seconds") => {
    for (const { labels, value } of series(samples, metric)) {
      if (!OPERATOR_RESOURCES.has(labels.resource ?? "")) continue;
      if (labels.verb === "WATCH" || labels.verb === "LIST") continue;
      const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ""}`;
      const entry = out.get(key) ?? { count: 0, seconds: 0 };
      entry[field] += value;
      out.set(key, entry);
    }
  };
  add("apiserver_request_duration_seconds_count", "count");
  add("apiserver_request_duration_seconds_sum", "seconds");
  return out;
}

/** `{...,resource="pods",...}` and not `resource=""` (or only `subresource="..."`): a request for a resource. */
const resourceRequest = (labels: string) => /[{,]resource="[^"]/.test(labels);

function phaseStats(
  phase: string,
  kind: PhaseStats["kind"],
  objects: number,
  before: Snapshot,
  after: Snapshot,
): PhaseStats {
  const op = (name: string) =>
    sum(after.operator, name, 'controller="agent"') - sum(before.operator, name, 'controller="agent"');
  const api = (filter: (labels: string) => boolean) =>
    sum(after.apiserver, "apiserver_request_total", filter) - sum(before.apiserver, "apiserver_request_total", filter);
  return {
    phase,
    kind,
    objects,
    apiRequests: api(resourceRequest),
    applies: api(
      (l) => l.includes('verb="APPLY"') && OPERATOR_RESOURCES.has(/[{,]resource="([^"]*)"/.exec(l)?.[1] ?? ""),
    ),
    reconciles: op("controller_runtime_reconcile_total"),
    errors: op("controller_runtime_reconcile_errors_total"),
    reconcileSeconds: op("controller_runtime_reconcile_time_seconds_sum"),
    queueWaits: op("workqueue_queue_duration_seconds_count"),
    queueSeconds: op("workqueue_queue_duration_seconds_sum"),
    cpuMs: after.cpuMs - before.cpuMs,
    serverTime: diffTimes(requestTimes(before.apiserver), requestTimes(after.apiserver)),
  };
}

function diffTimes(
  before: Map<string, { count: number; seconds: number }>,
  after: Map<string, { count: number; seconds: number }>,
): Map<string, { count: number; seconds: number }> {
  const out = new Map<string, { count: number; seconds: number }>();
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, seconds: 0 };
    if (a.count > b.count) out.set(key, { count: a.count - b.count, seconds: a.seconds - b.seconds });
  }
  return out;
}

// --- the benchmark ----------------------------------------------------------------------------

interface LatencyRow {
  measure: string;
  summary: Summary;
}

interface CreateSample {
  total: number;
  /** Agent created → its Deployment exists (the operator's first reconcile). */
  firstReconcile: number;
  /** Deployment exists → available (Kubernetes). */
  kube: number;
  /** Deployment available → Agent Ready (the operator notices and writes status). */
  status: number;
}

async function main(options: Options, signal: AbortSignal, cleanups: (() => Promise<void>)[]): Promise<string> {
  const N = options.agents;
  const wait = { timeoutMs: options.timeoutMs, signal };
  const load0 = loadavg();
  const started = new Date();

  // Room for 2N+1 Agent pods (1280Mi requested each) + surge, and 2N+1 baseline pods.
  const { kubeconfig, kc, kubeVersion } = await startBenchCluster({
    namespace: NAMESPACE,
    nodeResources: {
      cpu: String(Math.max(32, N * 2)),
      memory: `${Math.max(256, N * 6)}Gi`,
      pods: String(Math.max(110, N * 5 + 20)),
    },
    keepLogs: options.keepLogs,
    timeoutMs: options.timeoutMs,
    cleanups,
    log,
    signal,
  });
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);

  const agents = new TimedWatch<AgentObject>(
    kc,
    `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/agents`,
    "Agent",
    log,
  );
  const deployments = new TimedWatch<V1Deployment>(
    kc,
    `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`,
    "Deployment",
    log,
  );
  cleanups.push(async () => {
    agents.stop();
    deployments.stop();
  });
  await agents.start();
  await deployments.start();

  // --- the operator ---
  log("starting the operator");
  const {
    operator,
    runSignal,
    startMs: operatorStartMs,
  } = await startBenchOperator(kubeconfig, {
    args: [
      `--namespace=${NAMESPACE}`,
      `--leader-election-namespace=${NAMESPACE}`,
      ...(options.concurrency ? [`--concurrency=${options.concurrency}`] : []),
    ],
    keepLogs: options.keepLogs,
    timeoutMs: options.timeoutMs,
    stopGraceMs: 15_000,
    cleanups,
    log,
    signal,
  });
  operatorLogFile = operator.logFile;
  wait.signal = runSignal;
  const pid = operator.child.pid!;
  const metricsAddress = operator.metrics();
  if (!metricsAddress) throw new Error("the operator did not log its metrics address");
  const apiserverClient = KubeClient.load({ kubeconfig });
  cleanups.push(async () => apiserverClient.close());
  const snapshot = async (): Promise<Snapshot> => {
    const [operatorMetrics, apiserverMetrics] = await Promise.all([
      scrape(metricsAddress, runSignal),
      apiserverClient.get<string>("/metrics", { signal: runSignal }),
    ]);
    return {
      cpuMs: procCpuMs(pid),
      operator: operatorMetrics,
      apiserver: parse(apiserverMetrics),
    };
  };

  log(`operator started in ${ms(operatorStartMs)}; idling ${options.idleMs / 1000} s`);
  await sleep(options.idleMs, undefined, { signal: runSignal });
  const idleMemory = procMemory(pid);

  // --- measurement helpers ---
  const createAgent = (name: string) =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: "agents",
      body: agentManifest(name),
    });

  const measureDeployment = async (name: string): Promise<number> => {
    const available = quiet(
      deployments.when(name, deploymentAvailable, { ...wait, what: `Deployment ${name} available` }),
    );
    const t0 = performance.now();
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: baselineDeployment(name) });
    return (await available) - t0;
  };

  const measureAgent = async (name: string): Promise<CreateSample> => {
    const exists = quiet(deployments.when(name, () => true, { ...wait, what: `Deployment of Agent ${name}` }));
    const available = quiet(
      deployments.when(name, deploymentAvailable, { ...wait, what: `Deployment of Agent ${name} available` }),
    );
    const ready = quiet(agents.when(name, agentReady, { ...wait, what: `Agent ${name} Ready` }));
    const t0 = performance.now();
    await createAgent(name);
    const [tExists, tAvailable, tReady] = await Promise.all([exists, available, ready]);
    return {
      total: tReady - t0,
      firstReconcile: tExists - t0,
      kube: tAvailable - tExists,
      status: tReady - tAvailable,
    };
  };

  const measureSoulChange = async (name: string, revision: number) => {
    const oldGeneration = agents.get(name)?.metadata?.generation ?? 0;
    const oldHash = templateHash(deployments.get(name));
    if (!oldHash) throw new Error(`Deployment ${name} has no ${CONFIG_HASH} annotation`);
    const hashed = quiet(
      deployments.when(
        name,
        (d) => {
          const hash = templateHash(d);
          return hash !== undefined && hash !== oldHash;
        },
        { ...wait, what: `a new ${CONFIG_HASH} in Deployment ${name}` },
      ),
    );
    const ready = quiet(
      agents.when(name, (a) => (a.metadata?.generation ?? 0) > oldGeneration && agentReady(a), {
        ...wait,
        what: `Agent ${name} Ready after the change`,
      }),
    );
    const t0 = performance.now();
    await custom.patchNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: "agents",
      name,
      body: [{ op: "replace", path: "/spec/soul", value: `# ${name}\nYou are ${name}, revision ${revision}.` }],
    });
    const [tHash, tReady] = await Promise.all([hashed, ready]);
    return { hash: tHash - t0, ready: tReady - t0 };
  };

  const measureTemplateChange = async (name: string) => {
    const oldGeneration = deployments.get(name)?.metadata?.generation ?? 0;
    const done = quiet(
      deployments.when(name, (d) => rolledOut(d, oldGeneration), { ...wait, what: `Deployment ${name} rolled out` }),
    );
    const t0 = performance.now();
    await apps.patchNamespacedDeployment({
      namespace: NAMESPACE,
      name,
      body: [{ op: "add", path: "/spec/template/metadata/annotations", value: { "bench.clawcrew.io/revision": "1" } }],
    });
    return (await done) - t0;
  };

  const sequential = async <T>(names: string[], measure: (name: string, i: number) => Promise<T>): Promise<T[]> => {
    const out: T[] = [];
    for (const [i, name] of names.entries()) {
      out.push(await measure(name, i));
      await sleep(SEQUENTIAL_GAP_MS, undefined, { signal: runSignal });
    }
    return out;
  };
  const names = (prefix: string) => Array.from({ length: N }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
  const phases: PhaseStats[] = [];
  const withStats = async <T>(
    phase: string,
    kind: PhaseStats["kind"],
    count: number,
    run: () => Promise<T>,
  ): Promise<T> => {
    log(`${phase}…`);
    const before = await snapshot();
    const result = await run();
    // Let the trailing reconciles (after the last status write) finish before counting.
    await sleep(SETTLE_MS, undefined, { signal: runSignal });
    phases.push(phaseStats(phase, kind, count, before, await snapshot()));
    return result;
  };

  // --- warm-up: the first Agent after start-up pays for lazy initialisation ---
  const coldBaseline = await withStats("first Deployment (cold)", "Deployment", 1, () =>
    measureDeployment("warmup-deploy"),
  );
  const cold = await withStats("first Agent (cold)", "Agent", 1, () => measureAgent("warmup-agent"));

  // --- one at a time ---
  const seqBaseline = await withStats(`${N} Deployments one at a time`, "Deployment", N, () =>
    sequential(names("base-seq"), measureDeployment),
  );
  const seqAgentNames = names("agent-seq");
  const seqAgents = await withStats(`${N} Agents one at a time`, "Agent", N, () =>
    sequential(seqAgentNames, measureAgent),
  );

  log(`idling ${options.idleMs / 1000} s with ${N + 1} Agents`);
  await sleep(options.idleMs, undefined, { signal: runSignal });
  const loadedMemory = procMemory(pid);

  // --- config change ---
  const rollouts = await withStats(`template of ${N} Deployments changed one at a time`, "Deployment", N, () =>
    sequential(names("base-seq"), measureTemplateChange),
  );
  const soul = await withStats(`spec.soul of ${N} Agents changed one at a time`, "Agent", N, () =>
    sequential(seqAgentNames, (name, i) => measureSoulChange(name, i + 1)),
  );

  // --- all at once ---
  const burstBaseline = await withStats(`${N} Deployments at once`, "Deployment", N, () =>
    Promise.all(names("base-burst").map(measureDeployment)),
  );
  const burstAgents = await withStats(`${N} Agents at once`, "Agent", N, () =>
    Promise.all(names("agent-burst").map(measureAgent)),
  );

  log(`idling ${options.idleMs / 1000} s with ${2 * N + 1} Agents`);
  await sleep(options.idleMs, undefined, { signal: runSignal });
  const finalMemory = procMemory(pid);
  const load1 = loadavg();

  // --- report ---
  const rows: LatencyRow[] = [
    { measure: "Deployment create → available (baseline, one at a time)", summary: summarize(seqBaseline) },
    { measure: "**Agent create → Ready (one at a time)**", summary: summarize(seqAgents.map((s) => s.total)) },
    {
      measure: "↳ Agent created → its Deployment exists (operator, 1st reconcile)",
      summary: summarize(seqAgents.map((s) => s.firstReconcile)),
    },
    {
      measure: "↳ Deployment exists → available (Kubernetes)",
      summary: summarize(seqAgents.map((s) => s.kube)),
    },
    {
      measure: "↳ Deployment available → Agent Ready (operator, status)",
      summary: summarize(seqAgents.map((s) => s.status)),
    },
    { measure: `Deployment create → available (baseline, ${N} at once)`, summary: summarize(burstBaseline) },
    { measure: `**Agent create → Ready (${N} at once)**`, summary: summarize(burstAgents.map((s) => s.total)) },
    {
      measure: "↳ Agent created → its Deployment exists (operator, 1st reconcile)",
      summary: summarize(burstAgents.map((s) => s.firstReconcile)),
    },
    {
      measure: "↳ Deployment exists → available (Kubernetes)",
      summary: summarize(burstAgents.map((s) => s.kube)),
    },
    {
      measure: "↳ Deployment available → Agent Ready (operator, status)",
      summary: summarize(burstAgents.map((s) => s.status)),
    },
    { measure: "**spec.soul patch → new config-hash in pod template**", summary: summarize(soul.map((s) => s.hash)) },
    { measure: "spec.soul patch → Agent Ready again (rollout done)", summary: summarize(soul.map((s) => s.ready)) },
    { measure: "Deployment template patch → rollout done (baseline)", summary: summarize(rollouts) },
    { measure: "first Deployment after start-up (baseline, cold)", summary: summarize([coldBaseline]) },
    { measure: "first Agent after operator start-up (cold)", summary: summarize([cold.total]) },
    { measure: "operator start → controllers started", summary: summarize([operatorStartMs]) },
  ];
  const overhead = (agent: Summary, base: Summary) =>
    `${ms(agent.p50 - base.p50)} (p50) / ${ms(agent.p90 - base.p90)} (p90)`;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const command = `hack/node24.sh node bench/agent-reconcile.ts ${process.argv.slice(2).join(" ")}`.trimEnd();
  const lines = [
    "## bench/agent-reconcile.ts",
    "",
    `- date: ${started.toISOString()}`,
    `- machine: nproc ${availableParallelism()}, ${cpu}, Linux ${release()}; load average ${load0.map((l) => l.toFixed(2)).join(" ")} at start, ${load1.map((l) => l.toFixed(2)).join(" ")} at end`,
    `- Node ${process.version}; Kubernetes ${kubeVersion} (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok; 1 kwok node)`,
    `- command: \`${command}\``,
    `- ${N} Agents per phase; operator concurrency ${options.concurrency ?? "4 (default)"}, leader election on; one-at-a-time samples ${SEQUENTIAL_GAP_MS} ms apart`,
    "",
    table(
      ["measure", "n", "p50", "p90", "max"],
      rows.map((r) => [r.measure, String(r.summary.n), ms(r.summary.p50), ms(r.summary.p90), ms(r.summary.max)]),
    ),
    "",
    `Operator's added latency over the baseline: one at a time ${overhead(summarize(seqAgents.map((s) => s.total)), summarize(seqBaseline))}; ${N} at once ${overhead(summarize(burstAgents.map((s) => s.total)), summarize(burstBaseline))}.`,
    "",
    table(
      ["operator memory", "VmRSS"],
      [
        ["idle after start-up, no Agents", mib(idleMemory.rssKiB)],
        [`idle ${options.idleMs / 1000} s after ${N} (+1 warm-up) Agents Ready`, mib(loadedMemory.rssKiB)],
        [`idle ${options.idleMs / 1000} s after ${2 * N + 1} Agents Ready (end of run)`, mib(finalMemory.rssKiB)],
        ["peak (VmHWM) over the run", mib(finalMemory.hwmKiB)],
      ],
    ),
    "",
    table(
      [
        "phase",
        "API requests",
        "per object",
        "applies",
        "reconciles",
        "per Agent",
        "errors",
        "mean reconcile",
        "mean queue wait",
        "operator CPU",
      ],
      phases.map((p) => {
        const agent = p.kind === "Agent";
        const opt = (text: string) => (agent ? text : "–");
        return [
          p.phase,
          String(p.apiRequests),
          (p.apiRequests / p.objects).toFixed(1),
          String(p.applies),
          String(p.reconciles),
          opt((p.reconciles / p.objects).toFixed(1)),
          String(p.errors),
          opt(ms(p.reconciles ? (p.reconcileSeconds * 1000) / p.reconciles : Number.NaN)),
          opt(ms(p.queueWaits ? (p.queueSeconds * 1000) / p.queueWaits : Number.NaN)),
          ms(p.cpuMs),
        ];
      }),
    ),
    "",
    requestTimeTable(phases.filter((p) => p.kind === "Agent" && p.objects === N)),
    "",
  ];
  return lines.join("\n");
}

/** Server-side time of the requests the operator makes, per Agent phase, and what it adds up to per reconcile. */
function requestTimeTable(phases: PhaseStats[]): string {
  const keys = [
    // Not "GET agents": the operator reads Agents from its informer; those GETs come from
    // kube-controller-manager's garbage collector checking the owners of the Agents' children.
    ...new Set(
      phases.flatMap((p) =>
        [...p.serverTime.keys()].filter((k) => /^(APPLY|GET|POST secrets)/.test(k) && k !== "GET agents"),
      ),
    ),
  ].sort();
  const cell = (p: PhaseStats, key: string) => {
    const t = p.serverTime.get(key);
    return t ? `${t.count} × ${ms((t.seconds * 1000) / t.count)}` : "–";
  };
  const perReconcile = (p: PhaseStats) => {
    const total = keys.reduce((acc, key) => acc + (p.serverTime.get(key)?.seconds ?? 0), 0);
    return p.reconciles ? ms((total * 1000) / p.reconciles) : "–";
  };
  return table(
    ["operator's requests: count × mean time in the API server", ...phases.map((p) => p.phase)],
    [
      ...keys.map((key) => [key, ...phases.map((p) => cell(p, key))]),
      ["**sum per reconcile** (compare: mean reconcile above)", ...phases.map(perReconcile)],
    ],
  );
}

// Exit explicitly: keep-alive sockets of the API clients would otherwise hold the process a while.
process.exit(
  await runBench({
    usage: USAGE,
    parseOptions,
    main,
    runLimitMs: RUN_LIMIT_MS,
    log,
    operatorLogFile: () => operatorLogFile,
  }),
);
