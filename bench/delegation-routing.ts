/**
 * Benchmark: what the operator's delegation router adds on top of a gateway call, how many delegations
 * per second it completes, whether a deep queue drains without losing or duplicating work, and the
 * operator's peak memory. Agent pods run stub gateways in network namespaces at their kwok IPs
 * (harness/podnet, root needed). Prints a markdown report on stdout (progress goes to stderr).
 *
 *   hack/node24.sh node bench/delegation-routing.ts [--pairs 2000] [--warmup 200] [--clients 64]
 *       [--delegations 2000] [--queue 10000 | --skip-queue] [--queue-concurrency 32]
 *       [--timeout-seconds 600] [--podnet-wait-seconds 900] [--operator image|source]
 *       [--cpu-profile DIR] [--keep-logs]
 *
 * See docs/benchmarks.md ("Delegation routing") for what each row means.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { CustomObjectsApi, type KubernetesObject } from "@kubernetes/client-node";
import { imageEntrypoint, type OperatorProcessOptions, repoRoot } from "../harness/index.ts";
import { acquirePodNetwork, type PodAgent, startPodAgent } from "../harness/podnet/index.ts";
import { KubeClient } from "../src/runtime/client.ts";
import { startBenchCluster } from "./lib/cluster.ts";
import { JsonClient } from "./lib/http.ts";
import { startBenchOperator } from "./lib/operator.ts";
import { exitOnHelp, intOption } from "./lib/options.ts";
import { procCpuMs, procMemory } from "./lib/proc.ts";
import { parse, type Samples, scrape, series, sum } from "./lib/prom.ts";
import { runBench } from "./lib/run.ts";
import { mib, ms, type Summary, summarize, table } from "./lib/stats.ts";
import { TimedWatch } from "./lib/watch.ts";

const USAGE =
  "usage: hack/node24.sh node bench/delegation-routing.ts [--pairs N] [--warmup N] [--clients C] [--delegations M] [--queue Q | --skip-queue] [--queue-concurrency K] [--timeout-seconds T] [--podnet-wait-seconds W] [--operator image|source] [--cpu-profile DIR] [--keep-logs]";
const NAMESPACE = "bench";
const GROUP = "clawcrew.io";
const VERSION = "v1alpha1";
const TEAM = "bench";
const LEAD = "bench-lead";
const WORKER = "bench-worker";
const QUEUE_WORKER = "bench-queue";
/** Not watched by the operator: the API-server baseline writes its Delegations here. */
const BASELINE_NAMESPACE = "bench-baseline";
const WORKER_REPLICAS = 4;
const WORKER_SLOTS = 64;
const QUEUE_REPLICAS = 2;
const QUEUE_SLOTS = 4;
const QUEUE_STUB_DELAY_MS = 5;
const GATEWAY_PORT = 18789;
/**
 * The anchors: when this many queued Delegations are left during the drain, one more is created to
 * the same busy agent with the highest priority, and when it finishes the next one, ANCHORS in all.
 * Each should finish before 1 % of the queued ones left when it was sent do.
 */
const ANCHOR_REMAINING = 5100;
const ANCHOR_PRIORITY = 1000;
const ANCHORS = 5;
/** Whole-run limit, on top of the per-wait --timeout-seconds. */
const RUN_LIMIT_MS = 45 * 60_000;
const PODNET_POLL_MS = 10_000;

interface Options {
  pairs: number;
  warmup: number;
  clients: number;
  delegations: number;
  queue: number;
  queueConcurrency: number;
  timeoutMs: number;
  podnetWaitMs: number;
  /** "image": `npm run build`, then the Dockerfile's ENTRYPOINT (node flags, dist/main.js); "source": src/main.ts. */
  operator: "image" | "source";
  keepLogs: boolean;
  /** Where the operator writes a V8 CPU profile (node --cpu-prof) when it exits. */
  cpuProfileDir: string | undefined;
}

interface DelegationObject extends KubernetesObject {
  spec?: { to?: string };
  status?: { phase?: string; reason?: string; message?: string; pod?: string };
}

interface AgentObject extends KubernetesObject {
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; conditions?: { type: string; status: string }[] };
}

interface RoutedOutcome {
  delegation: string;
  phase: string;
  reason?: string;
  message?: string;
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
let operatorLogFile: string | undefined;

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      pairs: { type: "string", default: "2000" },
      warmup: { type: "string", default: "200" },
      clients: { type: "string", default: "64" },
      delegations: { type: "string", default: "2000" },
      queue: { type: "string", default: "10000" },
      "skip-queue": { type: "boolean", default: false },
      "queue-concurrency": { type: "string", default: "32" },
      "timeout-seconds": { type: "string", default: "600" },
      "podnet-wait-seconds": { type: "string", default: "900" },
      operator: { type: "string", default: "image" },
      "cpu-profile": { type: "string" },
      "keep-logs": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  exitOnHelp(values.help, USAGE);
  return {
    pairs: intOption("pairs", values.pairs, 1, 20_000),
    warmup: intOption("warmup", values.warmup, 0, 5000),
    clients: intOption("clients", values.clients, 1, 512),
    delegations: intOption("delegations", values.delegations, 1, 50_000),
    queue: values["skip-queue"] ? 0 : intOption("queue", values.queue, 0, 50_000),
    queueConcurrency: intOption("queue-concurrency", values["queue-concurrency"], 1, 256),
    timeoutMs: intOption("timeout-seconds", values["timeout-seconds"], 5, 3600) * 1000,
    podnetWaitMs: intOption("podnet-wait-seconds", values["podnet-wait-seconds"], 0, 3600) * 1000,
    operator: operatorForm(values.operator),
    keepLogs: values["keep-logs"],
    cpuProfileDir: values["cpu-profile"],
  };
}

function operatorForm(value: string | undefined): "image" | "source" {
  if (value === "image" || value === "source") return value;
  throw new Error("--operator must be image or source");
}

const isTerminal = (d: DelegationObject | undefined) =>
  d?.status?.phase === "Succeeded" || d?.status?.phase === "Failed";

/** A finished Delegation's status as it read while its attempt ran: what the operator writes before sending. */
function runningCopy(status: Record<string, unknown> | undefined): Record<string, unknown> {
  const { result: _r, resultRef: _rr, reason: _re, message: _m, completionTime: _c, usage: _u, ...rest } = status ?? {};
  const attempts = (rest.attempts as Record<string, unknown>[] | undefined)?.map(({ completionTime: _, ...a }) => ({
    ...a,
    outcome: "Running",
  }));
  return { ...rest, phase: "Running", ...(attempts && { attempts }) };
}

/** Runs `task(i)` for i in 0..count-1 with at most `limit` at once. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

// --- objects ----------------------------------------------------------------------------------

/** `scaling`: the queue worker is scaled by the bench, as an HPA would (mode External), so its queue waits at 0. */
function agentManifest(name: string, replicas: number, maxConcurrentTasks: number, scaling?: Record<string, unknown>) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "Agent",
    metadata: { name },
    spec: {
      description: `${name} (benchmark)`,
      soul: `# ${name}`,
      model: { primary: "openai/gpt-5" },
      replicas,
      maxConcurrentTasks,
      ...(scaling && { scaling }),
    },
  };
}

/** The chat request the router sends to a worker that is not a delegator */
const chatBody = (uid: string, task: string) => ({
  model: "openclaw/default",
  user: `clawcrew:${uid}`,
  stream: false,
  messages: [{ role: "user", content: task }],
});

// --- CPU of the pieces ------------------------------------------------------------------------

interface Cpu {
  operator: number;
  apiserver: number;
  etcd: number;
  bench: number;
  other: number;
}

// --- the benchmark ----------------------------------------------------------------------------

async function main(options: Options, signal: AbortSignal, cleanups: (() => Promise<void>)[]): Promise<string> {
  const wait = { timeoutMs: options.timeoutMs, signal };
  const started = new Date();
  const load0 = loadavg();

  // --- the pod network first: if another run holds it, wait before starting anything heavy ---
  const network = await acquirePodNetwork({
    nodes: 1,
    waitMs: options.podnetWaitMs,
    pollMs: PODNET_POLL_MS,
    signal,
    log: (m) => log(`podnet: ${m}`),
  });
  cleanups.push(async () => {
    log("removing the pod network");
    await network.destroy();
  });

  const { controlPlane, kubeconfig, kc, core, kubeVersion } = await startBenchCluster({
    namespace: NAMESPACE,
    podReadiness: "external",
    nodeResources: { cpu: "64", memory: "512Gi", pods: "110" },
    keepLogs: options.keepLogs,
    timeoutMs: options.timeoutMs,
    cleanups,
    log,
    signal,
  });
  const custom = kc.makeApiClient(CustomObjectsApi);
  const pidOf = (name: string) => controlPlane.processes.find((p) => p.name === name)?.pid;
  const apiserverPid = pidOf("kube-apiserver");
  const etcdPid = pidOf("etcd");

  const until = async (what: string, check: () => Promise<boolean>) => {
    const deadline = performance.now() + options.timeoutMs;
    for (;;) {
      try {
        if (await check()) return;
      } catch (error) {
        if (performance.now() > deadline) throw error;
      }
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100, undefined, { signal });
    }
  };

  // --- the kubelet stand-in: stub gateways at the pods' IPs ---
  const pods: PodAgent = startPodAgent({
    kubeconfig,
    runtime: "stub",
    namespace: NAMESPACE,
    stubEnv: (pod): Record<string, string> =>
      pod.metadata?.labels?.["app.kubernetes.io/instance"] === QUEUE_WORKER
        ? { STUB_DELAY_MS: String(QUEUE_STUB_DELAY_MS) }
        : {},
    stopGraceMs: 2000,
    log: (m) => log(`pod agent: ${m}`),
  });
  cleanups.push(async () => {
    log("stopping the pod agent (every stub gateway, every netns)");
    await pods.stop();
  });

  const agents = new TimedWatch<AgentObject>(
    kc,
    `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/agents`,
    "Agent",
    log,
  );
  const delegations = new TimedWatch<DelegationObject>(
    kc,
    `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/delegations`,
    "Delegation",
    log,
  );
  cleanups.push(async () => {
    agents.stop();
    delegations.stop();
  });
  await agents.start();
  await delegations.start();

  // Per Delegation name: when the bench first saw it (ADDED) and first saw it terminal; per uid, how
  // many times its status went to (or changed while in) a terminal phase.
  const firstSeen = new Map<string, number>();
  const terminalAt = new Map<string, number>();
  const terminalWrites = new Map<string, number>();
  const lastTerminalStatus = new Map<string, string>();
  const uidByName = new Map<string, string>();
  let terminalSucceeded = 0;
  let terminalFailed = 0;
  /** First terminal transitions of the deep-queue phase's Delegations (`q-…`). */
  let queueTerminal = 0;
  /** Runs after each first terminal transition (the anchor's bookkeeping). */
  let onTerminal: (name: string, d: DelegationObject) => void = () => {};
  const failures = new Map<string, number>();
  delegations.on((type, d, at) => {
    const name = d.metadata?.name;
    const uid = d.metadata?.uid;
    if (!name || !uid || type === "DELETED") return;
    if (!firstSeen.has(name)) firstSeen.set(name, at);
    uidByName.set(name, uid);
    if (!isTerminal(d)) return;
    const status = JSON.stringify(d.status);
    if (lastTerminalStatus.get(uid) === status) return; // a relist replays the same object
    lastTerminalStatus.set(uid, status);
    terminalWrites.set(uid, (terminalWrites.get(uid) ?? 0) + 1);
    if (terminalWrites.get(uid) === 1) {
      terminalAt.set(name, at);
      if (name.startsWith("q-")) queueTerminal++;
      if (d.status?.phase === "Succeeded") terminalSucceeded++;
      else {
        terminalFailed++;
        const key = `${d.status?.reason}: ${d.status?.message ?? ""}`.slice(0, 160);
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
      onTerminal(name, d);
    }
  });

  // --- the operator ---
  let operatorProcess: OperatorProcessOptions = {};
  if (options.operator === "image") {
    log("building the operator (npm run build), to run it as the image does");
    execFileSync("npm", ["run", "build"], { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
    operatorProcess = imageEntrypoint();
  }
  if (options.cpuProfileDir) {
    // Written when the operator exits; bench/cpu-profile.ts summarizes it.
    const nodeArgs = [...(operatorProcess.nodeArgs ?? []), "--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`];
    operatorProcess = { ...operatorProcess, nodeArgs };
  }
  log("starting the operator");
  // Its clean-up runs before the pod agent's (clean-ups run in reverse): no new pods are made while pods go.
  const { operator, runSignal } = await startBenchOperator(kubeconfig, {
    args: [
      `--namespace=${NAMESPACE}`,
      "--leader-elect=false",
      `--delegation-bind-address=${network.address}:0`,
      // One lead sends every routed delegation: the per-caller limits (5/s by default) would measure
      // themselves, not the router.
      "--delegation-rate-per-second=10000",
      "--delegation-burst=100000",
      "--delegation-max-outstanding=1000000",
    ],
    process: operatorProcess,
    keepLogs: options.keepLogs,
    timeoutMs: options.timeoutMs,
    stopGraceMs: 30_000,
    cleanups,
    log,
    signal,
  });
  operatorLogFile = operator.logFile;
  wait.signal = runSignal;
  const pid = operator.child.pid!;
  const endpoint = operator.delegation();
  const metricsAddress = operator.metrics();
  if (!endpoint || !metricsAddress) throw new Error("the operator did not log its delegation and metrics addresses");
  const idleMemory = procMemory(pid);
  log(`operator up; delegation endpoint http://${endpoint}`);

  // --- agents and team ---
  const createAgent = (body: object) =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: "agents",
      body,
    });
  await createAgent(agentManifest(LEAD, 0, 4));
  await createAgent(agentManifest(WORKER, WORKER_REPLICAS, WORKER_SLOTS));
  // The queue worker starts with no pods, so that the whole queue is created before any of it can run.
  if (options.queue > 0) {
    const external = { mode: "External", minReplicas: 0, maxReplicas: QUEUE_REPLICAS };
    await createAgent(agentManifest(QUEUE_WORKER, 0, QUEUE_SLOTS, external));
  }
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NAMESPACE,
    plural: "agentteams",
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "AgentTeam",
      metadata: { name: TEAM },
      spec: {
        pattern: "hubAndSpoke",
        lead: LEAD,
        members: [{ agent: WORKER }, ...(options.queue > 0 ? [{ agent: QUEUE_WORKER }] : [])],
      },
    },
  });
  const allReady = (want: number) => (a: AgentObject) => (a.status?.readyReplicas ?? 0) === want;
  log("waiting for the worker pods to be Ready");
  await agents.when(WORKER, allReady(WORKER_REPLICAS), { ...wait, what: `${WORKER} ${WORKER_REPLICAS} ready` });
  const readSecretToken = async (agent: string, key: "token" | "delegation-token") => {
    let token = "";
    await until(`Secret ${agent}-token key ${key}`, async () => {
      const s = await core.readNamespacedSecret({ name: `${agent}-token`, namespace: NAMESPACE });
      token = Buffer.from(s.data?.[key] ?? "", "base64").toString("utf8");
      return token !== "";
    });
    return token;
  };
  // The lead's delegation token calls the endpoint; the worker's gateway token calls its pods directly.
  const leadToken = await readSecretToken(LEAD, "delegation-token");
  const workerToken = await readSecretToken(WORKER, "token");
  const podsOf = (agent: string) =>
    pods
      .pods()
      .filter((p) => p.state === "ready" && p.name.startsWith(`${agent}-`))
      .sort((a, b) => a.name.localeCompare(b.name));
  const workerIPs = podsOf(WORKER).map((p) => p.ip);
  if (workerIPs.length !== WORKER_REPLICAS)
    throw new Error(`expected ${WORKER_REPLICAS} ready ${WORKER} pods, have ${workerIPs.length}`);

  const http = new JsonClient(Math.max(64, options.clients, options.queueConcurrency) + 8);
  cleanups.push(async () => http.close());
  const apiserverClient = KubeClient.load({ kubeconfig });
  cleanups.push(async () => apiserverClient.close());

  // The endpoint answers 401 until the operator's Secret cache has the lead's token: wait for a first success.
  let sequence = 0;
  const routed = async (agent = WORKER, signal?: AbortSignal) => {
    const res = await http.send<RoutedOutcome>(
      "POST",
      `http://${endpoint}/v1/delegations`,
      leadToken,
      { agent, task: `t${sequence++}` },
      signal,
    );
    if (res.status !== 200 || res.body?.phase !== "Succeeded")
      throw new Error(`routed delegation: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    return res.body;
  };
  let directCount = 0;
  const direct = async () => {
    const ip = workerIPs[directCount % workerIPs.length];
    const res = await http.send<{ choices?: unknown[] }>(
      "POST",
      `http://${ip}:${GATEWAY_PORT}/v1/chat/completions`,
      workerToken,
      chatBody(`direct-${directCount++}`, `t${sequence++}`),
    );
    if (res.status !== 200 || !res.body?.choices)
      throw new Error(`direct call: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  };
  await until("a first routed delegation to succeed", async () => {
    await routed();
    return true;
  });

  // --- snapshots ---
  const cpuNow = (): Cpu => {
    const usage = process.cpuUsage();
    return {
      operator: procCpuMs(pid),
      apiserver: apiserverPid ? procCpuMs(apiserverPid) : Number.NaN,
      etcd: etcdPid ? procCpuMs(etcdPid) : Number.NaN,
      bench: (usage.user + usage.system) / 1000,
      other: 0,
    };
  };
  /** Total CPU time of the machine (all processes), ms, from /proc/stat. */
  const machineCpuMs = () => {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
    const busy = fields.reduce((a, b) => a + b, 0) - (fields[3] ?? 0) - (fields[4] ?? 0);
    return busy * 10;
  };
  interface Snap {
    t: number;
    cpu: Cpu;
    machine: number;
    apiserver: Samples;
    operator: Samples;
  }
  const snap = async (): Promise<Snap> => {
    const [apiserverText, operatorMetrics] = await Promise.all([
      apiserverClient.get<string>("/metrics", { signal: runSignal }),
      scrape(metricsAddress, runSignal),
    ]);
    return {
      t: performance.now(),
      cpu: cpuNow(),
      machine: machineCpuMs(),
      apiserver: parse(apiserverText),
      operator: operatorMetrics,
    };
  };
  interface PhaseCost {
    phase: string;
    seconds: number;
    delegations: number;
    cpu: Cpu;
    /** "POST delegations" → count, mean ms in the API server. */
    server: Map<string, { count: number; seconds: number }>;
  }
  const delegationRequests = (samples: Samples) => {
    const out = new Map<string, { count: number; seconds: number }>();
    const add = (metric: string, field: "count" | "seconds") => {
      for (const { labels, value } of series(samples, metric)) {
        if (labels.resource !== "delegations" || labels.verb === "WATCH" || labels.verb === "LIST") continue;
        const key = `${labels.verb} delegations${labels.subresource ? `/${labels.subresource}` : ""}`;
        const entry = out.get(key) ?? { count: 0, seconds: 0 };
        entry[field] += value;
        out.set(key, entry);
      }
    };
    add("apiserver_request_duration_seconds_count", "count");
    add("apiserver_request_duration_seconds_sum", "seconds");
    return out;
  };
  const phaseCost = (phase: string, delegationsDone: number, a: Snap, b: Snap): PhaseCost => {
    const before = delegationRequests(a.apiserver);
    const server = new Map<string, { count: number; seconds: number }>();
    for (const [key, v] of delegationRequests(b.apiserver)) {
      const w = before.get(key) ?? { count: 0, seconds: 0 };
      if (v.count > w.count) server.set(key, { count: v.count - w.count, seconds: v.seconds - w.seconds });
    }
    const d = (k: keyof Cpu) => b.cpu[k] - a.cpu[k];
    const known = d("operator") + d("apiserver") + d("etcd") + d("bench");
    return {
      phase,
      seconds: (b.t - a.t) / 1000,
      delegations: delegationsDone,
      cpu: {
        operator: d("operator"),
        apiserver: d("apiserver"),
        etcd: d("etcd"),
        bench: d("bench"),
        other: b.machine - a.machine - known,
      },
      server,
    };
  };
  const costs: PhaseCost[] = [];

  /**
   * Copies of a finished routed Delegation (spec, labels, terminal status) created and then patched to
   * that status, C at a time, in a namespace the operator does not watch: the API server's own rate
   * for the writes one delegation costs, on the same machine in the same run. With `recordAttempt`
   * (the operator's writes) a patch recording the attempt Running comes between the two.
   */
  const apiServerBaseline = async (template: string | undefined, recordAttempt: boolean) => {
    if (!template) throw new Error("no routed delegation succeeded in the throughput phase");
    const sample = await apiserverClient.get<KubernetesObject & { spec: object; status?: Record<string, unknown> }>(
      `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/delegations/${template}`,
      { signal: runSignal },
    );
    const namespace = `${BASELINE_NAMESPACE}-${recordAttempt ? 3 : 2}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/delegations`;
    const running = runningCopy(sample.status);
    // The bench watches the routed Delegations (for the breakdown and the duplicate count), and every
    // watch event costs the API server: its baseline serves the same watch, so that only the
    // operator's work differs between the two.
    const observer = new TimedWatch<DelegationObject>(kc, path, "Delegation", log);
    await observer.start();
    let errors = 0;
    const before = await snap();
    await pool(options.delegations, options.clients, async (i) => {
      try {
        const name = `baseline-${i}`;
        const created = await apiserverClient.request<DelegationObject>("POST", path, {
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: "Delegation",
            metadata: { name, labels: sample.metadata?.labels },
            spec: sample.spec,
          },
          signal: runSignal,
        });
        let resourceVersion = created.metadata?.resourceVersion;
        if (recordAttempt) {
          const recorded = await apiserverClient.request<DelegationObject>("PATCH", `${path}/${name}/status`, {
            body: { metadata: { resourceVersion }, status: running },
            contentType: "application/merge-patch+json",
            signal: runSignal,
          });
          resourceVersion = recorded.metadata?.resourceVersion;
        }
        await apiserverClient.request("PATCH", `${path}/${name}/status`, {
          body: { metadata: { resourceVersion }, status: sample.status },
          contentType: "application/merge-patch+json",
          signal: runSignal,
        });
      } catch {
        errors++;
      }
    });
    const seconds = (performance.now() - before.t) / 1000;
    observer.stop();
    return { before, seconds, errors, rate: (options.delegations - errors) / seconds };
  };

  // --- warm-up ---
  log(`warm-up: ${options.warmup} direct + ${options.warmup} routed calls`);
  for (let i = 0; i < options.warmup; i++) {
    await direct();
    await routed();
  }

  // --- 1. overhead: sequential, interleaved pairs ---
  log(`overhead: ${options.pairs} pairs of direct and routed calls, one at a time`);
  const directMs: number[] = [];
  const routedMs: number[] = [];
  const toSeen: number[] = [];
  const seenToTerminal: number[] = [];
  const terminalToReply: number[] = [];
  let missingEvents = 0;
  let s0 = await snap();
  for (let i = 0; i < options.pairs; i++) {
    let t = performance.now();
    await direct();
    directMs.push(performance.now() - t);
    t = performance.now();
    const out = await routed();
    const end = performance.now();
    routedMs.push(end - t);
    // The operator's informer may see the terminal status before the bench's watch does: wait for
    // the bench's copy (outside the measured time) so that every call gets its breakdown.
    const done = await delegations
      .when(out.delegation, isTerminal, { timeoutMs: 2000, signal: runSignal })
      .catch(() => undefined);
    const seen = firstSeen.get(out.delegation);
    if (seen === undefined || done === undefined) missingEvents++;
    else {
      toSeen.push(seen - t);
      seenToTerminal.push(done - seen);
      terminalToReply.push(end - done);
    }
    if ((i + 1) % 500 === 0) log(`  ${i + 1}/${options.pairs}`);
  }
  let s1 = await snap();
  costs.push(
    phaseCost(`overhead (${options.pairs} routed + ${options.pairs} direct, sequential)`, options.pairs, s0, s1),
  );

  // --- 2. throughput: C concurrent REST callers, M delegations ---
  log(`throughput: ${options.delegations} routed delegations, ${options.clients} callers`);
  let throughputErrors = 0;
  const throughputErrorSamples: string[] = [];
  const callMs: number[] = [];
  s0 = await snap();
  let lastRouted: string | undefined;
  await pool(options.delegations, options.clients, async () => {
    const t = performance.now();
    try {
      lastRouted = (await routed(WORKER, runSignal)).delegation;
      callMs.push(performance.now() - t);
    } catch (error) {
      throughputErrors++;
      if (throughputErrorSamples.length < 3) throughputErrorSamples.push(String(error).slice(0, 200));
    }
  });
  s1 = await snap();
  const throughputSeconds = (s1.t - s0.t) / 1000;
  costs.push(
    phaseCost(`throughput (${options.delegations} routed, ${options.clients} callers)`, options.delegations, s0, s1),
  );
  const afterThroughputMemory = procMemory(pid);

  // --- 2b. baselines: the API server alone, doing the three writes of a routed delegation, then two ---
  log(`baseline: ${options.delegations} × (create + attempt + terminal status patches) straight to the API server`);
  const baseline = await apiServerBaseline(lastRouted, true);
  s1 = await snap();
  costs.push(
    phaseCost(
      `baseline (${options.delegations} × create + 2 status patches, ${options.clients} callers, no operator)`,
      options.delegations,
      baseline.before,
      s1,
    ),
  );
  log(`baseline: ${options.delegations} × (create + terminal status patch), the runs before attempts were recorded`);
  const twoWriteBaseline = await apiServerBaseline(lastRouted, false);
  costs.push(
    phaseCost(
      `baseline (${options.delegations} × create + 1 status patch, ${options.clients} callers, no operator)`,
      options.delegations,
      twoWriteBaseline.before,
      await snap(),
    ),
  );

  // --- 3. a deep queue ---
  interface QueueResult {
    created: number;
    createErrors: number;
    createSeconds: number;
    /** clawcrew_delegations_queued once all were created, before the worker had pods. */
    heldQueued: number;
    /** Terminal before the worker had pods (should be 0). */
    heldTerminal: number;
    readySeconds: number;
    drainSeconds: number;
    succeeded: number;
    failed: number;
    lost: number;
    duplicateTerminal: number;
    servedUsers: number;
    servedMoreThanOnce: number;
    notServed: number;
    stubRequests: number;
    maxQueued: number;
    /** The Delegation controller's work queue (workqueue_depth), largest 1 s sample. */
    maxWorkQueue: number;
    timedOut: boolean;
    anchors: AnchorResult[];
  }
  /** A priority Delegation created during the drain (ANCHOR_REMAINING). */
  interface AnchorResult {
    name: string;
    /** Queued Delegations not yet finished when it was sent. */
    remaining: number;
    /** When its create request was sent, and the queue's terminal count then. */
    sentAt: number;
    terminalAtSend: number;
    /** Of `remaining`, how many finished between its create request and its terminal status. */
    finishedBefore: number;
    /** Create request sent → terminal status seen; undefined until it finished. */
    ms: number | undefined;
    phase: string | undefined;
    error: string | undefined;
  }
  let queue: QueueResult | undefined;
  let heldMemory: { rssKiB: number; hwmKiB: number } | undefined;
  /** The largest V8 heap (nodejs_heap_size_total_bytes) the queue phase's 1 s samples saw. */
  let maxHeapTotal = 0;
  if (options.queue > 0) {
    const Q = options.queue;
    log(
      `queue: creating ${Q} Delegations to ${QUEUE_WORKER} (${QUEUE_REPLICAS} × ${QUEUE_SLOTS} slots, stub delay ${QUEUE_STUB_DELAY_MS} ms), ${options.queueConcurrency} at a time`,
    );
    const createdNames: string[] = [];
    let createErrors = 0;
    let maxQueued = 0;
    let maxWorkQueue = 0;
    const sampler = setInterval(() => {
      scrape(metricsAddress, runSignal)
        .then((m) => {
          maxQueued = Math.max(maxQueued, sum(m, "clawcrew_delegations_queued", `agent="${QUEUE_WORKER}"`));
          maxHeapTotal = Math.max(maxHeapTotal, sum(m, "nodejs_heap_size_total_bytes"));
          maxWorkQueue = Math.max(maxWorkQueue, sum(m, "workqueue_depth", `controller="delegation"`));
        })
        .catch(() => {});
    }, 1000);
    try {
      s0 = await snap();
      const t0 = performance.now();
      await pool(Q, options.queueConcurrency, async (i) => {
        if (runSignal.aborted) return;
        try {
          const res = await apiserverClient.request<DelegationObject>(
            "POST",
            `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/delegations`,
            {
              body: {
                apiVersion: `${GROUP}/${VERSION}`,
                kind: "Delegation",
                metadata: { name: `q-${String(i).padStart(5, "0")}`, labels: { "bench.clawcrew.io/phase": "queue" } },
                spec: { team: TEAM, to: QUEUE_WORKER, from: LEAD, task: `q${i}`, timeoutSeconds: 3600 },
              },
              signal: runSignal,
            },
          );
          createdNames.push(res.metadata!.name!);
        } catch (error) {
          createErrors++;
          if (createErrors <= 3) log(`  create failed: ${String(error).slice(0, 200)}`);
        }
        if ((i + 1) % 1000 === 0)
          log(`  created ${i + 1}/${Q}; ${terminalSucceeded + terminalFailed} terminal so far (all phases)`);
      });
      const createSeconds = (performance.now() - t0) / 1000;
      await sleep(2000, undefined, { signal: runSignal }); // the operator's informer catches up
      heldMemory = procMemory(pid);
      const heldQueued = sum(
        await scrape(metricsAddress, runSignal),
        "clawcrew_delegations_queued",
        `agent="${QUEUE_WORKER}"`,
      );
      const heldTerminal = createdNames.filter((n) => terminalAt.has(n)).length;
      log(
        `queue: created ${createdNames.length} in ${createSeconds.toFixed(1)} s (${heldQueued} queued, ${heldTerminal} terminal); scaling ${QUEUE_WORKER} to ${QUEUE_REPLICAS} replicas`,
      );
      const anchors: AnchorResult[] = [];
      const sendAnchor = () => {
        const anchor: AnchorResult = {
          name: `anchor-${anchors.length + 1}`,
          remaining: createdNames.length - queueTerminal,
          sentAt: performance.now(),
          terminalAtSend: queueTerminal,
          finishedBefore: 0,
          ms: undefined,
          phase: undefined,
          error: undefined,
        };
        anchors.push(anchor);
        log(`queue: ${anchor.remaining} left; creating ${anchor.name} (priority ${ANCHOR_PRIORITY})`);
        apiserverClient
          .request("POST", `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/delegations`, {
            body: {
              apiVersion: `${GROUP}/${VERSION}`,
              kind: "Delegation",
              metadata: { name: anchor.name, labels: { "bench.clawcrew.io/phase": "anchor" } },
              spec: {
                team: TEAM,
                to: QUEUE_WORKER,
                from: LEAD,
                task: anchor.name,
                timeoutSeconds: 3600,
                priority: ANCHOR_PRIORITY,
              },
            },
            signal: runSignal,
          })
          .catch((error) => {
            anchor.error = String(error).slice(0, 200);
          });
      };
      onTerminal = (name, d) => {
        const current = anchors.at(-1);
        if (current && name === current.name) {
          current.finishedBefore = queueTerminal - current.terminalAtSend;
          current.ms = (terminalAt.get(name) ?? performance.now()) - current.sentAt;
          current.phase = d.status?.phase;
          if (anchors.length < ANCHORS) sendAnchor();
          return;
        }
        if (!current && createdNames.length - queueTerminal <= ANCHOR_REMAINING) sendAnchor();
      };
      const tScale = performance.now();
      await custom.patchNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: NAMESPACE,
        plural: "agents",
        name: QUEUE_WORKER,
        body: [{ op: "replace", path: "/spec/replicas", value: QUEUE_REPLICAS }],
      });
      const tReady = await agents.when(QUEUE_WORKER, allReady(QUEUE_REPLICAS), {
        ...wait,
        what: `${QUEUE_WORKER} ${QUEUE_REPLICAS} ready`,
      });
      log(`queue: ${QUEUE_WORKER} ready after ${ms(tReady - tScale)}; waiting for all to finish`);
      const done = () => createdNames.filter((n) => terminalAt.has(n)).length;
      const drainDeadline = performance.now() + options.timeoutMs;
      let timedOut = false;
      let lastLog = performance.now();
      while (done() < createdNames.length) {
        if (performance.now() > drainDeadline) {
          timedOut = true;
          break;
        }
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          log(`  ${done()}/${createdNames.length} terminal`);
        }
        await sleep(200, undefined, { signal: runSignal });
      }
      for (const anchor of anchors) {
        if (anchor.ms !== undefined || anchor.error) continue;
        await delegations
          .when(anchor.name, isTerminal, { ...wait, what: `${anchor.name} finished` })
          .catch((error) => (anchor.error = String(error).slice(0, 200)));
      }
      onTerminal = () => {};
      const lastTerminal = Math.max(...createdNames.map((n) => terminalAt.get(n) ?? 0));
      s1 = await snap();
      // Let stragglers (a second terminal write would come right after the first) arrive before counting.
      await sleep(2000, undefined, { signal: runSignal });
      costs.push(phaseCost(`queue (${Q} created with the API, drained)`, createdNames.length, s0, s1));
      let succeeded = 0;
      let failed = 0;
      let duplicateTerminal = 0;
      const uids = new Set<string>();
      for (const name of createdNames) {
        const d = delegations.get(name);
        if (d?.status?.phase === "Succeeded") succeeded++;
        else if (d?.status?.phase === "Failed") failed++;
        const uid = uidByName.get(name);
        if (uid) {
          uids.add(uid);
          duplicateTerminal += Math.max(0, (terminalWrites.get(uid) ?? 0) - 1);
        }
      }
      // What the stubs served, per `user` = clawcrew:<uid>.
      const served = new Map<string, number>();
      let stubRequests = 0;
      for (const p of podsOf(QUEUE_WORKER)) {
        const res = await http.send<{ requests: number; byUser: Record<string, number> }>(
          "GET",
          `http://${p.ip}:${GATEWAY_PORT}/stats`,
          undefined,
        );
        stubRequests += res.body.requests;
        for (const [user, n] of Object.entries(res.body.byUser)) served.set(user, (served.get(user) ?? 0) + n);
      }
      let servedMoreThanOnce = 0;
      let notServed = 0;
      for (const uid of uids) {
        const n = served.get(`clawcrew:${uid}`) ?? 0;
        if (n === 0) notServed++;
        if (n > 1) servedMoreThanOnce++;
      }
      queue = {
        created: createdNames.length,
        createErrors,
        createSeconds,
        heldQueued,
        heldTerminal,
        readySeconds: (tReady - tScale) / 1000,
        drainSeconds: (lastTerminal - tReady) / 1000,
        succeeded,
        failed,
        lost: createdNames.length - succeeded - failed,
        duplicateTerminal,
        servedUsers: served.size,
        servedMoreThanOnce,
        notServed,
        stubRequests,
        maxQueued,
        maxWorkQueue,
        timedOut,
        anchors,
      };
    } finally {
      clearInterval(sampler);
    }
  }

  const finalMemory = procMemory(pid);
  const finalMetrics = await scrape(metricsAddress, runSignal);
  const heapMiB = (metric: string) => `${(sum(finalMetrics, metric) / 2 ** 20).toFixed(1)} MiB`;
  const load1 = loadavg();

  // --- report ---
  const d = summarize(directMs);
  const r = summarize(routedMs);
  const row = (measure: string, s: Summary) => [measure, String(s.n), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)];
  const over = (a: number, b: number) => ms(a - b);
  const calls = summarize(callMs);
  const rate = (options.delegations - throughputErrors) / throughputSeconds;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const command = `hack/node24.sh node bench/delegation-routing.ts ${process.argv.slice(2).join(" ")}`.trimEnd();
  const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
  const anchorRow = (all: AnchorResult[]): [string, string] => {
    const label = `**anchors**: ${ANCHORS} priority-${ANCHOR_PRIORITY} Delegations to ${QUEUE_WORKER}, one after another, the first with ${ANCHOR_REMAINING} queued ones left: how many of those finished before each`;
    if (all.length === 0) return [label, "not sent (the queue was never that long)"];
    const failed = all.find((a) => a.ms === undefined);
    if (failed) return [label, `${failed.name} did not finish: ${failed.error ?? "unknown"}`];
    const shares = all.map((a) => (100 * a.finishedBefore) / a.remaining).sort((x, y) => x - y);
    const median = shares[Math.floor(shares.length / 2)]!;
    const unsuccessful = all.filter((a) => a.phase !== "Succeeded").map((a) => `${a.name} ${a.phase}`);
    return [
      label,
      `${all.map((a) => `${a.finishedBefore} of ${a.remaining}`).join(", ")}; **median ${median.toFixed(2)} %** (target < 1 %: ${verdict(median < 1)}), worst ${shares.at(-1)!.toFixed(2)} %; each ${all.map((a) => ms(a.ms!)).join(", ")} after its create request${unsuccessful.length ? `; not Succeeded: ${unsuccessful.join(", ")}` : ""}`,
    ];
  };
  const lines = [
    "## bench/delegation-routing.ts",
    "",
    `- date: ${started.toISOString()}`,
    `- machine: nproc ${availableParallelism()}, ${cpu}, Linux ${release()}; load average ${load0.map((l) => l.toFixed(2)).join(" ")} at start, ${load1.map((l) => l.toFixed(2)).join(" ")} at end`,
    `- Node ${process.version}; Kubernetes ${kubeVersion} (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok; 1 kwok node); pods: stub gateways in network namespaces (harness/podnet)`,
    `- command: \`${command}\``,
    `- operator process: ${
      options.operator === "image"
        ? `\`${Object.entries(operatorProcess.env ?? {})
            .map(([k, v]) => `${k}=${v} `)
            .join(
              "",
            )}node ${[...(operatorProcess.nodeArgs ?? []), operatorProcess.entry].join(" ")}\`, as the image's ENV and ENTRYPOINT run it (built with \`npm run build\`)`
        : "`node src/main.ts` (source, type stripping)"
    }`,
    `- operator: \`--namespace=${NAMESPACE} --leader-elect=false --delegation-bind-address=${network.address}:0\` (other flags default: concurrency 4); team \`${TEAM}\` hubAndSpoke, lead \`${LEAD}\` (0 replicas, the caller), \`${WORKER}\` ${WORKER_REPLICAS} replicas × maxConcurrentTasks ${WORKER_SLOTS}, stub delay 0`,
    "",
    `### Routing overhead (${options.warmup} warm-up pairs, then ${options.pairs} interleaved pairs, one call at a time)`,
    "",
    table(
      ["measure", "n", "p50", "p90", "p99", "max"],
      [
        row("direct: POST /v1/chat/completions to a worker pod IP (same body shape, worker token)", d),
        row("**routed: POST /v1/delegations (REST, waits for the result) as bench-lead**", r),
        row("↳ request sent → Delegation ADDED seen by the bench's watch", summarize(toSeen)),
        row("↳ ADDED seen → terminal status seen (dispatch, gateway call, status write)", summarize(seenToTerminal)),
        row(
          "↳ terminal status seen → REST reply received (negative: the reply came first)",
          summarize(terminalToReply),
        ),
      ],
    ),
    "",
    `**Routing overhead (routed − direct): p50 ${over(r.p50, d.p50)}, p90 ${over(r.p90, d.p90)}, p99 ${over(r.p99, d.p99)}** (target p50 ≤ 15 ms: ${verdict(r.p50 - d.p50 <= 15)}).${missingEvents ? ` ${missingEvents} routed calls had no watch events in time for the breakdown.` : ""}`,
    "",
    `### Throughput (${options.clients} concurrent REST callers, ${options.delegations} delegations)`,
    "",
    table(
      ["measure", "value"],
      [
        ["**completed delegations/s**", `**${rate.toFixed(1)}/s** (target ≥ 300/s: ${verdict(rate >= 300)})`],
        ["wall time", `${throughputSeconds.toFixed(1)} s`],
        [
          "**baseline: the API server alone doing the operator's writes**, create + attempt (Running) + terminal status patch per delegation (same callers, the bench's watch, no operator)",
          `${baseline.rate.toFixed(1)}/s in ${baseline.seconds.toFixed(1)} s (${baseline.errors} errors); **routed = ${((100 * rate) / baseline.rate).toFixed(0)} % of it** (target ≥ 85 %: ${verdict(rate >= 0.85 * baseline.rate)})`,
        ],
        [
          "baseline of the runs before attempts were recorded: create + terminal status patch",
          `${twoWriteBaseline.rate.toFixed(1)}/s in ${twoWriteBaseline.seconds.toFixed(1)} s (${twoWriteBaseline.errors} errors); routed = ${((100 * rate) / twoWriteBaseline.rate).toFixed(0)} % of it`,
        ],
        [
          "errors (non-200 or not Succeeded)",
          `${throughputErrors}${throughputErrorSamples.length ? `: ${throughputErrorSamples.join("; ")}` : ""}`,
        ],
        [
          "per-call latency p50 / p90 / p99 / max",
          `${ms(calls.p50)} / ${ms(calls.p90)} / ${ms(calls.p99)} / ${ms(calls.max)}`,
        ],
      ],
    ),
    "",
    queue
      ? [
          `### Deep queue (${options.queue} Delegations created with the API, ${options.queueConcurrency} at a time, to \`${QUEUE_WORKER}\` while it has 0 replicas; then scaled to ${QUEUE_REPLICAS} replicas × maxConcurrentTasks ${QUEUE_SLOTS}, stub delay ${QUEUE_STUB_DELAY_MS} ms; timeoutSeconds 3600)`,
          "",
          table(
            ["measure", "value"],
            [
              [
                "created",
                `${queue.created} (${queue.createErrors} create errors) in ${queue.createSeconds.toFixed(1)} s (${(queue.created / queue.createSeconds).toFixed(0)}/s)`,
              ],
              [
                "held: `clawcrew_delegations_queued` / terminal, once all were created (no worker pods yet)",
                `${queue.heldQueued} / ${queue.heldTerminal}`,
              ],
              ["scale to 2 replicas → both ready", `${queue.readySeconds.toFixed(1)} s`],
              ["**Succeeded**", `**${queue.succeeded}**`],
              ["Failed", String(queue.failed)],
              [
                "**lost** (created − terminal)",
                `**${queue.lost}**${queue.timedOut ? ` (gave up after ${options.timeoutMs / 1000} s)` : ""}`,
              ],
              ["**duplicated**: extra terminal transitions per uid (watch)", `**${queue.duplicateTerminal}**`],
              ["**duplicated**: uids the stubs served more than once (GET /stats)", `**${queue.servedMoreThanOnce}**`],
              ["uids the stubs never served", String(queue.notServed)],
              ["stub requests (both pods, the anchors' included)", String(queue.stubRequests)],
              anchorRow(queue.anchors),
              [
                "worker ready → last terminal (drain)",
                `${queue.drainSeconds.toFixed(1)} s (${(queue.created / queue.drainSeconds).toFixed(0)}/s)`,
              ],
              ["max `clawcrew_delegations_queued` seen (1 s samples)", String(queue.maxQueued)],
              ['max `workqueue_depth{controller="delegation"}` seen (1 s samples)', String(queue.maxWorkQueue)],
            ],
          ),
          failures.size
            ? `\nFailures (all phases), by reason: ${[...failures].map(([k, n]) => `${n} × ${k}`).join("; ")}`
            : "",
          "",
        ].join("\n")
      : "### Deep queue\n\nskipped (`--skip-queue` or `--queue 0`).\n",
    "### Operator memory",
    "",
    table(
      ["operator memory", "value"],
      [
        ["VmRSS after start-up (no Agents)", mib(idleMemory.rssKiB)],
        [
          `VmRSS after the throughput phase (${firstSeen.size - (queue?.created ?? 0) - (queue?.anchors.length ?? 0)} Delegations in the cache)`,
          mib(afterThroughputMemory.rssKiB),
        ],
        ...(heldMemory
          ? [
              [
                `VmRSS with ${options.queue} Delegations queued (before the queue worker had pods)`,
                mib(heldMemory.rssKiB),
              ],
            ]
          : []),
        [`VmRSS at the end (${firstSeen.size} Delegations in the cache)`, mib(finalMemory.rssKiB)],
        [
          "at the end: V8 heap used / total; memory outside the heap held by JS objects (`nodejs_heap_size_used_bytes`, `_total_bytes`, `nodejs_external_memory_bytes`)",
          `${heapMiB("nodejs_heap_size_used_bytes")} / ${heapMiB("nodejs_heap_size_total_bytes")}; ${heapMiB("nodejs_external_memory_bytes")}`,
        ],
        ...(maxHeapTotal
          ? [
              [
                "largest V8 heap total seen in the queue phase (1 s samples)",
                `${(maxHeapTotal / 2 ** 20).toFixed(1)} MiB`,
              ],
            ]
          : []),
        [
          "**peak (VmHWM) over the run**",
          `**${mib(finalMemory.hwmKiB)}** (target ≤ 200 MB: ${verdict(finalMemory.hwmKiB * 1024 <= 200e6)})`,
        ],
      ],
    ),
    "",
    "### Where the CPU goes",
    "",
    table(
      [
        "phase",
        "wall",
        "operator CPU",
        "kube-apiserver CPU",
        "etcd CPU",
        "bench CPU",
        "everything else",
        "per delegation: operator / apiserver / etcd",
      ],
      costs.map((c) => [
        c.phase,
        `${c.seconds.toFixed(1)} s`,
        ms(c.cpu.operator),
        ms(c.cpu.apiserver),
        ms(c.cpu.etcd),
        ms(c.cpu.bench),
        ms(c.cpu.other),
        `${ms(c.cpu.operator / c.delegations)} / ${ms(c.cpu.apiserver / c.delegations)} / ${ms(c.cpu.etcd / c.delegations)}`,
      ]),
    ),
    "",
    '"everything else": busy CPU time of the whole machine (/proc/stat) minus the four columns before it: the stub gateways, kube-controller-manager, kwok, the pod agent\'s work, and any other load on the machine.',
    "",
    table(
      ["Delegation requests in the API server: count × mean time", ...costs.map((c) => c.phase)],
      [...new Set(costs.flatMap((c) => [...c.server.keys()]))].sort().map((key) => [
        key,
        ...costs.map((c) => {
          const t = c.server.get(key);
          return t ? `${t.count} × ${ms((t.seconds * 1000) / t.count)}` : "–";
        }),
      ]),
    ),
    "",
  ];
  return lines.join("\n");
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
