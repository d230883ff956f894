/**
 * The fault soak (issue 15 §1): delegations run through a team of stub gateways on the local control plane
 * while faults are injected on a fixed schedule, and the report checks that none was lost or finished twice.
 * Not a timed test: a script with a markdown report on stdout (progress on stderr). Root needed (harness/podnet).
 *
 *   hack/node24.sh node bench/soak.ts [--delegations 2000] [--minutes 20] [--kills 20] [--restarts 2]
 *       [--cuts 2] [--pod-deletes 6] [--attacks 2] [--fault-every 10] [--lease-seconds 8]
 *       [--drain-seconds 300] [--podnet-wait-seconds 900] [--operator image|source] [--keep-logs]
 *
 * Faults: SIGKILL of the leading operator (two processes; the killed one is started again as a standby),
 * kube-apiserver restarts, etcd restarts with data kept, a network cut between the leader and the API server
 * longer than the Lease (its FaultyProxy black-holes and freezes), pods deleted mid-task, gateway faults per
 * task (harness/podnet/stub-gateway.ts: hang, close mid-reply, 500, 429 + Retry-After, invalid JSON, a reply
 * over the cap), and attacks on the delegation endpoint (slow clients, a burst over the rate limit, malformed
 * JSON, oversized MCP batches). See docs/reliability.md ("Fault soak") for what each figure means.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import { imageEntrypoint, type OperatorProcessOptions, repoRoot } from "../harness/index.ts";
import { acquirePodNetwork, startPodAgent } from "../harness/podnet/index.ts";
import type { StubFault } from "../harness/podnet/stub-gateway.ts";
import { KubeClient } from "../src/runtime/client.ts";
import { isAlreadyExists } from "../src/runtime/errors.ts";
import { startBenchCluster } from "./lib/cluster.ts";
import { type AttackResult, burst, hugeBatches, malformed, slowClients } from "./lib/endpoint-attacks.ts";
import { JsonClient } from "./lib/http.ts";
import { OperatorPair } from "./lib/operator-pair.ts";
import { exitOnHelp, intOption } from "./lib/options.ts";
import { runBench } from "./lib/run.ts";
import { mib, ms, percentile, table } from "./lib/stats.ts";
import { TimedWatch } from "./lib/watch.ts";

const USAGE =
  "usage: hack/node24.sh node bench/soak.ts [--delegations N] [--minutes M] [--kills K] [--restarts R] [--cuts C] [--pod-deletes P] [--attacks A] [--fault-every F] [--lease-seconds L] [--drain-seconds D] [--podnet-wait-seconds W] [--operator image|source] [--keep-logs]";
const NAMESPACE = "soak";
const GROUP = "clawcrew.io";
const VERSION = "v1alpha1";
const TEAM = "soak";
const LEAD = "soak-lead";
const WORKER = "soak-worker";
const WORKER_REPLICAS = 4;
const WORKER_SLOTS = 16;
const HANG_TIMEOUT_SECONDS = 10;
const TASK_TIMEOUT_SECONDS = 1800;
const RUN_LIMIT_MS = 180 * 60_000;

/** The gateway faults a task can carry, cycled through by every --fault-every-th Delegation, and what must happen. */
const GATEWAY_FAULTS: { directive: string; fault: StubFault; expect: string }[] = [
  { directive: "stub-fault=hang", fault: "hang", expect: "Failed/TimedOut" },
  { directive: "stub-fault=close/1", fault: "close", expect: "Succeeded" },
  { directive: "stub-fault=500/1", fault: "500", expect: "Succeeded" },
  { directive: "stub-fault=500", fault: "500", expect: "Failed/AgentError" },
  { directive: "stub-fault=429/1", fault: "429", expect: "Succeeded" },
  { directive: "stub-fault=badjson", fault: "badjson", expect: "Failed/AgentError" },
  { directive: "stub-fault=huge", fault: "huge", expect: "Failed/AgentError" },
];

type FaultKind =
  | "SIGKILL leader"
  | "kube-apiserver restart"
  | "etcd restart"
  | "network cut > lease"
  | "pod deleted mid-task"
  | "endpoint: slow clients"
  | "endpoint: burst"
  | "endpoint: malformed JSON"
  | "endpoint: huge MCP batches";

interface Options {
  delegations: number;
  minutes: number;
  kills: number;
  restarts: number;
  cuts: number;
  podDeletes: number;
  attacks: number;
  faultEvery: number;
  leaseSeconds: number;
  drainMs: number;
  podnetWaitMs: number;
  operator: "image" | "source";
  keepLogs: boolean;
}

interface Attempt {
  number: number;
  outcome?: string;
  reason?: string;
}

interface DelegationObject extends KubernetesObject {
  spec?: { task?: string };
  status?: { phase?: string; reason?: string; message?: string; completionTime?: string; attempts?: Attempt[] };
}

interface Tracked {
  name: string;
  uid: string | undefined;
  /** What the task asked of the stub: "" for none, else the directive. */
  directive: string;
  /** How long the stub takes to answer it, ms. */
  delayMs: number;
  expect: string;
  /** Fault classes it was exposed to (in flight or created while a fault was injected). */
  classes: Set<string>;
  terminalAt: number | undefined;
  /** Distinct terminal states seen for it (phase, reason, completion time, attempts): 1 unless finished twice. */
  terminalWrites: number;
  lastTerminal: string | undefined;
}

interface FaultRecord {
  kind: FaultKind;
  index: number;
  scheduledAt: number;
  startedAt: number;
  /** When the kill, cut or restart itself happened (a kill or cut waits for a leader first). */
  actedAt: number;
  endedAt: number;
  /** First terminal transition of any Delegation after the fault ended (and a leader led). */
  recoveredAt: number | undefined;
  note: string;
  attack?: AttackResult;
}

const log = (message: string) => process.stderr.write(`[soak] ${new Date().toISOString().slice(11, 19)} ${message}\n`);
let operatorLogFile: string | undefined;

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      delegations: { type: "string", default: "2000" },
      minutes: { type: "string", default: "20" },
      kills: { type: "string", default: "20" },
      restarts: { type: "string", default: "2" },
      cuts: { type: "string", default: "2" },
      "pod-deletes": { type: "string", default: "6" },
      attacks: { type: "string", default: "2" },
      "fault-every": { type: "string", default: "10" },
      "lease-seconds": { type: "string", default: "8" },
      "drain-seconds": { type: "string", default: "300" },
      "podnet-wait-seconds": { type: "string", default: "900" },
      operator: { type: "string", default: "image" },
      "keep-logs": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  exitOnHelp(values.help, USAGE);
  const operator = values.operator;
  if (operator !== "image" && operator !== "source") throw new Error("--operator must be image or source");
  return {
    delegations: intOption("delegations", values.delegations, 1, 100_000),
    minutes: intOption("minutes", values.minutes, 1, 600),
    kills: intOption("kills", values.kills, 0, 1000),
    restarts: intOption("restarts", values.restarts, 0, 100),
    cuts: intOption("cuts", values.cuts, 0, 100),
    podDeletes: intOption("pod-deletes", values["pod-deletes"], 0, 1000),
    attacks: intOption("attacks", values.attacks, 0, 100),
    faultEvery: intOption("fault-every", values["fault-every"], 0, 100_000),
    leaseSeconds: intOption("lease-seconds", values["lease-seconds"], 2, 300),
    drainMs: intOption("drain-seconds", values["drain-seconds"], 10, 3600) * 1000,
    podnetWaitMs: intOption("podnet-wait-seconds", values["podnet-wait-seconds"], 0, 3600) * 1000,
    operator,
    keepLogs: values["keep-logs"],
  };
}

const isTerminal = (d: DelegationObject | undefined) =>
  d?.status?.phase === "Succeeded" || d?.status?.phase === "Failed";
const attemptsOf = (d: DelegationObject | undefined) => d?.status?.attempts?.at(-1)?.number ?? 0;
const outcomeOf = (d: DelegationObject | undefined) =>
  d?.status?.phase === "Failed" ? `Failed/${d.status.reason}` : (d?.status?.phase ?? "none");

/** The fault events, spread evenly over the run, each kind offset so that they interleave. */
function schedule(o: Options, durationMs: number): { at: number; kind: FaultKind; index: number }[] {
  const counts: [FaultKind, number][] = [
    ["SIGKILL leader", o.kills],
    ["kube-apiserver restart", o.restarts],
    ["etcd restart", o.restarts],
    ["network cut > lease", o.cuts],
    ["pod deleted mid-task", o.podDeletes],
    ["endpoint: slow clients", o.attacks],
    ["endpoint: burst", o.attacks],
    ["endpoint: malformed JSON", o.attacks],
    ["endpoint: huge MCP batches", o.attacks],
  ];
  const events: { at: number; kind: FaultKind; index: number }[] = [];
  counts.forEach(([kind, n], k) => {
    for (let i = 0; i < n; i++) {
      const slot = (i + 0.15 + (0.7 * k) / counts.length) / n;
      events.push({ at: Math.round(durationMs * 0.9 * slot), kind, index: i + 1 });
    }
  });
  return events.sort((a, b) => a.at - b.at);
}

function agentManifest(name: string, replicas: number) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "Agent",
    metadata: { name },
    spec: {
      description: `${name} (soak)`,
      soul: `# ${name}`,
      model: { primary: "openai/gpt-5" },
      replicas,
      maxConcurrentTasks: WORKER_SLOTS,
    },
  };
}

async function main(options: Options, signal: AbortSignal, cleanups: (() => Promise<void>)[]): Promise<string> {
  const started = new Date();
  const load0 = loadavg();
  const uptime0 = execFileSync("uptime", { encoding: "utf8" }).trim();
  const durationMs = options.minutes * 60_000;

  const network = await acquirePodNetwork({
    nodes: 1,
    waitMs: options.podnetWaitMs,
    pollMs: 10_000,
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
    timeoutMs: 120_000,
    cleanups,
    log,
    signal,
  });
  await core.createNamespace({ body: { metadata: { name: "clawcrew-system" } } });
  const api = KubeClient.load({ kubeconfig });
  cleanups.push(async () => api.close());
  const base = `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}`;

  // --- the stubs report every chat request here, so that a deleted pod's requests are still counted ---
  const executions = new Map<string, number>();
  const byPodUser = new Map<string, number>();
  /** Per user: when (s into the soak), on which pod, and who led then. */
  const timeline = new Map<string, { at: number; line: string }[]>();
  let t0 = performance.now();
  let leaderNow: () => string = () => "?";
  const collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const r = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { user: string; pod: string };
        const count = (executions.get(r.user) ?? 0) + 1;
        executions.set(r.user, count);
        byPodUser.set(`${r.pod} ${r.user}`, (byPodUser.get(`${r.pod} ${r.user}`) ?? 0) + 1);
        const at = performance.now();
        const line = `${((at - t0) / 1000).toFixed(1)} s on ${r.pod.slice(-5)} (leader ${leaderNow()})`;
        timeline.set(r.user, [...(timeline.get(r.user) ?? []), { at, line }]);
        res.end(JSON.stringify({ count }));
      } catch {
        res.end("{}"); // a report cut off by its pod's end
      }
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, network.address, resolve));
  cleanups.push(async () => {
    collector.closeAllConnections();
    await new Promise((resolve) => collector.close(resolve));
  });
  const reportUrl = `http://${network.address}:${(collector.address() as AddressInfo).port}/`;

  const pods = startPodAgent({
    kubeconfig,
    runtime: "stub",
    namespace: NAMESPACE,
    stubEnv: (pod) => ({ STUB_REPORT_URL: reportUrl, STUB_POD: pod.metadata?.name ?? "" }),
    stopGraceMs: 2000,
    log: (m) => log(`pod agent: ${m}`),
  });
  cleanups.push(async () => {
    log("stopping the pod agent");
    await pods.stop();
  });

  // --- what the soak sees of the Delegations ---
  const delegations = new TimedWatch<DelegationObject>(kc, `${base}/delegations`, "Delegation", log);
  const agents = new TimedWatch<KubernetesObject & { status?: { readyReplicas?: number } }>(
    kc,
    `${base}/agents`,
    "Agent",
    log,
  );
  cleanups.push(async () => {
    delegations.stop();
    agents.stop();
  });
  await delegations.start();
  await agents.start();
  const tracked = new Map<string, Tracked>();
  const activeClasses = new Set<string>();
  const terminalTimes: number[] = [];
  const track = (name: string, task: string): Tracked => {
    let t = tracked.get(name);
    if (t) return t;
    const directive = /stub-fault=[a-z0-9/]+/.exec(task)?.[0] ?? "";
    const known = GATEWAY_FAULTS.find((f) => f.directive === directive);
    t = {
      name,
      uid: undefined,
      directive,
      delayMs: Number(/stub-delay=(\d+)/.exec(task)?.[1] ?? 0),
      expect: known?.expect ?? "Succeeded",
      classes: new Set(activeClasses),
      terminalAt: undefined,
      terminalWrites: 0,
      lastTerminal: undefined,
    };
    if (directive) t.classes.add(`gateway: ${directive.slice("stub-fault=".length)}`);
    if (name.startsWith("burst-") || task.includes(" burst ")) t.classes.add("endpoint: burst");
    tracked.set(name, t);
    return t;
  };
  delegations.on((type, d, at) => {
    const name = d.metadata?.name;
    if (!name || type === "DELETED") return;
    const t = track(name, d.spec?.task ?? "");
    t.uid ??= d.metadata?.uid;
    if (!isTerminal(d)) return;
    const key = `${d.status?.phase}|${d.status?.reason}|${d.status?.completionTime}|${attemptsOf(d)}`;
    if (key === t.lastTerminal) return; // a relist replays the same state
    t.lastTerminal = key;
    t.terminalWrites++;
    if (t.terminalAt === undefined) {
      t.terminalAt = at;
      terminalTimes.push(at);
    }
  });
  const firstTerminalAfter = async (t: number, timeoutMs: number): Promise<number | undefined> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = terminalTimes.find((x) => x > t);
      if (found !== undefined) return found;
      if (performance.now() > deadline) return undefined;
      await sleep(50, undefined, { signal });
    }
  };

  // --- two operators ---
  let operatorProcess: OperatorProcessOptions = {};
  if (options.operator === "image") {
    log("building the operator (npm run build), to run it as the image does");
    execFileSync("npm", ["run", "build"], { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
    operatorProcess = imageEntrypoint();
  }
  const dir = mkdtempSync(join(tmpdir(), "clawcrew-soak-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const operatorArgs = [
    `--namespace=${NAMESPACE}`,
    "--leader-elect=true",
    `--lease-duration-seconds=${options.leaseSeconds}`,
    `--delegation-bind-address=${network.address}:0`,
  ];
  const pair = await OperatorPair.start({
    kubeconfig,
    apiServer: controlPlane.server,
    args: operatorArgs,
    process: operatorProcess,
    restartDelayMs: 1000,
    dir,
    log,
  });
  cleanups.push(async () => {
    log("stopping the operators");
    await pair.stop(options.keepLogs);
    if (options.keepLogs) log(`operator logs: ${pair.slots.flatMap((s) => s.logFiles).join(" ")}`);
  });
  await pair.waitForLeader(undefined, 120_000, signal);
  leaderNow = () => pair.leader()?.proc?.identity ?? "none";
  operatorLogFile = pair.leader()?.proc?.logFile;
  log(`leader: ${pair.leader()?.proc?.identity}`);

  // --- the team ---
  const create = (plural: string, body: object) => api.request("POST", `${base}/${plural}`, { body, signal });
  await create("agents", agentManifest(LEAD, 0));
  await create("agents", agentManifest(WORKER, WORKER_REPLICAS));
  await create("agentteams", {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "AgentTeam",
    metadata: { name: TEAM },
    spec: { pattern: "hubAndSpoke", lead: LEAD, members: [{ agent: WORKER }] },
  });
  await agents.when(WORKER, (a) => (a.status?.readyReplicas ?? 0) === WORKER_REPLICAS, {
    timeoutMs: 180_000,
    signal,
    what: `${WORKER} ${WORKER_REPLICAS} ready`,
  });
  let leadToken = "";
  for (let i = 0; !leadToken; i++) {
    const s = await core.readNamespacedSecret({ name: `${LEAD}-token`, namespace: NAMESPACE }).catch(() => undefined);
    // The endpoint accepts the lead's delegation token, not its gateway token.
    leadToken = Buffer.from(s?.data?.["delegation-token"] ?? "", "base64").toString("utf8");
    if (!leadToken) await sleep(200, undefined, { signal });
    if (i > 600) throw new Error(`no Secret ${LEAD}-token`);
  }
  const http = new JsonClient(16);
  cleanups.push(async () => http.close());

  // --- the load: Delegations created with the API, evenly over the run ---
  let createRetries = 0;
  const createDelegation = async (name: string, task: string, timeoutSeconds: number): Promise<string | undefined> => {
    track(name, task);
    for (;;) {
      try {
        const made = await api.request<DelegationObject>("POST", `${base}/delegations`, {
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: "Delegation",
            metadata: { name },
            spec: { team: TEAM, to: WORKER, from: LEAD, task, timeoutSeconds },
          },
          signal,
        });
        const t = tracked.get(name)!;
        t.uid ??= made.metadata?.uid;
        return t.uid;
      } catch (error) {
        if (isAlreadyExists(error)) return tracked.get(name)?.uid; // an earlier try landed
        if (signal.aborted) throw error;
        createRetries++;
        await sleep(500, undefined, { signal });
      }
    }
  };
  const warm = await createDelegation("warmup", "warmup stub-delay=10", TASK_TIMEOUT_SECONDS);
  await delegations.when("warmup", isTerminal, { timeoutMs: 120_000, signal, what: "the warm-up Delegation" });
  log(`warm-up done (${warm}); starting the soak: ${options.delegations} Delegations over ${options.minutes} min`);

  t0 = performance.now();
  const interval = durationMs / options.delegations;
  const creates: Promise<unknown>[] = [];
  let faultCycle = 0;
  const load = (async () => {
    for (let i = 0; i < options.delegations; i++) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      const faulty = options.faultEvery > 0 && i % options.faultEvery === options.faultEvery - 1;
      const fault = faulty ? GATEWAY_FAULTS[faultCycle++ % GATEWAY_FAULTS.length]! : undefined;
      const delay = 200 + Math.floor(Math.random() * 1300);
      const task = `s-${i} stub-delay=${delay}${fault ? ` ${fault.directive}` : ""}`;
      const timeout = fault?.fault === "hang" ? HANG_TIMEOUT_SECONDS : TASK_TIMEOUT_SECONDS;
      creates.push(createDelegation(`s-${String(i).padStart(5, "0")}`, task, timeout));
    }
  })();

  // --- the faults, one after another on the schedule ---
  const events = schedule(options, durationMs);
  const faults: FaultRecord[] = [];
  const currentLeader = async () => {
    await pair.waitForLeader(undefined, 60_000, signal);
    return pair.leader();
  };
  const inject = async (kind: FaultKind, index: number, scheduledAt: number): Promise<FaultRecord> => {
    const startedAt = performance.now();
    const record: FaultRecord = {
      kind,
      index,
      scheduledAt,
      startedAt,
      actedAt: startedAt,
      endedAt: startedAt,
      recoveredAt: undefined,
      note: "",
    };
    activeClasses.add(kind);
    for (const t of tracked.values()) if (t.terminalAt === undefined) t.classes.add(kind);
    try {
      switch (kind) {
        case "SIGKILL leader": {
          const leader = await currentLeader();
          const victim = leader?.proc?.identity;
          record.actedAt = performance.now();
          const killed = leader ? pair.kill(leader) : undefined;
          const inFlight = [...tracked.values()].filter((t) => t.terminalAt === undefined).length;
          const leadAt = await pair.waitForLeader(killed, 120_000, signal);
          record.note = `killed ${victim} (${inFlight} unfinished); ${pair.leader()?.proc?.identity} led after ${ms(leadAt - startedAt)}`;
          break;
        }
        case "network cut > lease": {
          const leader = await currentLeader();
          if (!leader) throw new Error("no leader to cut");
          const cutMs = options.leaseSeconds * 2000 + 2000;
          record.actedAt = performance.now();
          leader.proxy.setMode("blackhole");
          leader.proxy.freezeAll();
          const cutProc = leader.proc;
          const victim = cutProc?.identity;
          const leadAt = await pair.waitForLeader(cutProc, 120_000, signal).catch(() => undefined);
          const left = startedAt + cutMs - performance.now();
          if (left > 0) await sleep(left, undefined, { signal });
          leader.proxy.setMode("pass");
          leader.proxy.resetAll();
          record.note = `cut ${victim} from the API server for ${ms(cutMs)} (lease ${options.leaseSeconds} s); ${leadAt ? `${pair.leader()?.proc?.identity} led after ${ms(leadAt - startedAt)}` : "no other leader during the cut"}`;
          break;
        }
        case "kube-apiserver restart":
          await controlPlane.restart("kube-apiserver");
          record.note = `down and back in ${ms(performance.now() - startedAt)}`;
          break;
        case "etcd restart":
          await controlPlane.restart("etcd");
          record.note = `down and back (data kept) in ${ms(performance.now() - startedAt)}`;
          break;
        case "pod deleted mid-task": {
          const names = Array.from({ length: 6 }, (_, i) => `pd-${index}-${i}`);
          const uids = await Promise.all(
            names.map((n) => createDelegation(n, `${n} stub-delay=6000`, TASK_TIMEOUT_SECONDS)),
          );
          for (const n of names) tracked.get(n)?.classes.add(kind);
          // The pod that got the first of them, once it got it.
          let victim: string | undefined;
          const deadline = performance.now() + 60_000;
          while (!victim && performance.now() < deadline) {
            for (const [key] of byPodUser) {
              const [pod, user] = key.split(" ");
              if (uids.some((u) => user === `clawcrew:${u}`)) victim = pod;
            }
            if (!victim) await sleep(100, undefined, { signal });
          }
          if (!victim) throw new Error("none of the slow tasks reached a pod in 60 s");
          await core.deleteNamespacedPod({ name: victim, namespace: NAMESPACE });
          record.note = `deleted ${victim} while it ran a 6 s task`;
          break;
        }
        case "endpoint: slow clients":
        case "endpoint: burst":
        case "endpoint: malformed JSON":
        case "endpoint: huge MCP batches": {
          const leader = pair.leader() ?? pair.slots[0]!;
          const endpoint = leader.proc?.delegation();
          if (!endpoint) throw new Error("no delegation endpoint address");
          record.attack =
            kind === "endpoint: slow clients"
              ? await slowClients(endpoint, leadToken, http, index % 2 === 0 ? 1100 : 300, 20_000)
              : kind === "endpoint: burst"
                ? await burst(endpoint, leadToken, 60, WORKER, `b${index}`)
                : kind === "endpoint: malformed JSON"
                  ? await malformed(endpoint, leadToken, 1)
                  : await hugeBatches(endpoint, leadToken);
          for (const n of record.attack.created) tracked.get(n)?.classes.add(kind);
          record.note = `${leader.proc?.identity}: ${record.attack.detail}; ${[...record.attack.answers].map(([k, v]) => `${v} × ${k}`).join(", ")}${record.attack.probe ? `; GET /v1/team meanwhile: ${record.attack.probe.status} in ${ms(record.attack.probe.ms)}` : ""}; ${record.attack.wrong ? `**${record.attack.wrong} wrong answers**` : "every answer as due"}`;
          break;
        }
      }
    } catch (error) {
      record.note = `**the injection failed**: ${String(error).slice(0, 300)}`;
    } finally {
      activeClasses.delete(kind);
    }
    record.endedAt = performance.now();
    await pair.waitForLeader(undefined, 120_000, signal).catch(() => undefined);
    record.recoveredAt = await firstTerminalAfter(Math.max(record.endedAt, pair.leader()?.leadingSince ?? 0), 120_000);
    log(
      `${kind} #${index}: ${record.note}; recovered after ${record.recoveredAt ? ms(record.recoveredAt - startedAt) : "–"}`,
    );
    return record;
  };
  for (const e of events) {
    const wait = t0 + e.at - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal });
    faults.push(await inject(e.kind, e.index, e.at));
  }
  await load;
  await Promise.all(creates);
  const loadEnd = performance.now();
  log(`all created (${tracked.size} Delegations, ${createRetries} create retries); draining`);

  // --- drain, then count ---
  const drainDeadline = performance.now() + options.drainMs;
  while ([...tracked.values()].some((t) => t.terminalAt === undefined) && performance.now() < drainDeadline) {
    await sleep(1000, undefined, { signal });
  }
  await sleep(5000, undefined, { signal }); // a second terminal write would follow the first closely
  const drained = performance.now();
  const list = await api.get<{ items: DelegationObject[] }>(`${base}/delegations`, { signal });
  const finalByName = new Map(list.items.map((d) => [d.metadata!.name!, d]));
  const served = new Map<string, number>();
  let statsMismatch = 0;
  let statsPods = 0;
  for (const p of pods.pods().filter((x) => x.state === "ready")) {
    const res = await http
      .send<{ byUser: Record<string, number> }>("GET", `http://${p.ip}:18789/stats`, undefined)
      .catch(() => undefined);
    if (!res) continue;
    statsPods++;
    for (const [user, n] of Object.entries(res.body.byUser)) {
      served.set(user, (served.get(user) ?? 0) + n);
      if ((byPodUser.get(`${p.name} ${user}`) ?? 0) !== n) statsMismatch++;
    }
  }

  // --- per Delegation ---
  interface Row {
    t: Tracked;
    d: DelegationObject | undefined;
    executions: number;
    attempts: number;
  }
  const rows: Row[] = [...tracked.values()]
    .filter((t) => t.name !== "warmup")
    .map((t) => {
      const d = finalByName.get(t.name);
      const uid = t.uid ?? d?.metadata?.uid;
      return { t, d, executions: uid ? (executions.get(`clawcrew:${uid}`) ?? 0) : 0, attempts: attemptsOf(d) };
    });
  const lost = (r: Row) => !isTerminal(r.d);
  const twice = (r: Row) => r.t.terminalWrites > 1;
  const overRun = (r: Row) => r.executions > r.attempts;
  const unexpected = (r: Row) => isTerminal(r.d) && r.t.expect !== outcomeOf(r.d);
  const failedWithoutReason = rows.filter(
    (r) => r.d?.status?.phase === "Failed" && (!r.d.status.reason || !r.d.status.message),
  );
  const classes = [
    ...new Set([
      "all",
      "no scheduled fault in flight",
      ...events.map((e) => e.kind),
      ...GATEWAY_FAULTS.map((f) => `gateway: ${f.directive.slice("stub-fault=".length)}`),
    ]),
  ];
  const infra = new Set<string>(events.map((e) => e.kind));
  const inClass = (c: string) => (r: Row) =>
    c === "all" ||
    (c === "no scheduled fault in flight" ? ![...r.t.classes].some((x) => infra.has(x)) : r.t.classes.has(c));
  const failures = (rs: Row[]) => {
    const by = new Map<string, number>();
    for (const r of rs.filter((x) => x.d?.status?.phase === "Failed")) {
      const key = `${r.d?.status?.reason}`;
      by.set(key, (by.get(key) ?? 0) + 1);
    }
    return [...by].map(([k, n]) => `${n} ${k}`).join(", ") || "–";
  };
  const recoveries = (kind: string) =>
    faults.filter((f) => f.kind === kind && f.recoveredAt).map((f) => f.recoveredAt! - f.startedAt);
  const classRows = classes.map((c) => {
    const rs = rows.filter(inClass(c));
    const injected =
      c === "all" || c === "no scheduled fault in flight"
        ? "–"
        : c.startsWith("gateway: ")
          ? String(rs.length)
          : String(faults.filter((f) => f.kind === c).length);
    const rec = recoveries(c);
    return [
      c,
      injected,
      String(rs.length),
      String(rs.filter((r) => r.d?.status?.phase === "Succeeded").length),
      failures(rs),
      `**${rs.filter(lost).length}**`,
      `**${rs.filter(twice).length}**`,
      `**${rs.filter(overRun).length}**`,
      String(rs.filter(unexpected).length),
      rec.length ? `${ms(percentile(rec, 50))} / ${ms(Math.max(...rec))}` : "–",
    ];
  });
  const messages = new Map<string, number>();
  for (const r of rows.filter((x) => x.d?.status?.phase === "Failed")) {
    const text = `${r.t.directive || "(no gateway fault)"} → ${r.d?.status?.reason}: ${(r.d?.status?.message ?? "").replace(/\d+/g, "N").slice(0, 150)}`;
    messages.set(text, (messages.get(text) ?? 0) + 1);
  }
  const overRunRows = rows.filter(overRun);
  /**
   * Why an execution went unrecorded, judged from its first execution and the scheduled fault nearest
   * after it: answered before the fault but its result not yet written; still running when the fault came,
   * started within 250 ms of it or earlier; or started while the fault lasted. (Since attempts are recorded
   * before they are sent there should be none; the classes say where to look if one appears.)
   */
  const whyUnrecorded = (r: Row): string => {
    const first = timeline.get(`clawcrew:${r.t.uid}`)?.[0]?.at;
    if (first === undefined) return "no execution seen";
    const during = faults.find((f) => f.actedAt <= first && first <= f.endedAt);
    if (during) return `started during a ${during.kind}`;
    const next = faults.find((f) => f.actedAt > first);
    if (!next) return "no fault after it";
    const gap = next.actedAt - first;
    const where = `${next.kind}`;
    if (gap > 10_000) return `more than 10 s before the next fault (${where})`;
    if (first + r.t.delayMs < next.actedAt) return `answered before a ${where}, its result not yet written`;
    return gap <= 250
      ? `running at a ${where}, started ≤ 250 ms before it`
      : `running at a ${where}, started > 250 ms before it`;
  };
  const unrecordedWhy = new Map<string, number>();
  for (const r of overRunRows) unrecordedWhy.set(whyUnrecorded(r), (unrecordedWhy.get(whyUnrecorded(r)) ?? 0) + 1);
  const twiceRows = rows.filter(twice);
  const lostRows = rows.filter(lost);
  const unexpectedRows = rows.filter(unexpected);
  const sample = (rs: Row[]) =>
    rs
      .slice(0, 8)
      .map(
        (r) =>
          `\`${r.t.name}\` (${outcomeOf(r.d)}, ${r.executions} executions [${(timeline.get(`clawcrew:${r.t.uid}`) ?? []).map((e) => e.line).join("; ")}], attempts ${JSON.stringify(r.d?.status?.attempts?.map((a) => `${a.number}:${a.outcome}/${a.reason ?? ""}`) ?? [])}, faults: ${[...r.t.classes].join(", ") || "none"})`,
      )
      .join("; ");

  const uptime1 = execFileSync("uptime", { encoding: "utf8" }).trim();
  const load1 = loadavg();
  const command =
    `flock /tmp/clawcrew-bench.lock hack/node24.sh node bench/soak.ts ${process.argv.slice(2).join(" ")}`.trimEnd();
  const servedTotal = [...executions.values()].reduce((a, b) => a + b, 0);
  const lines = [
    "## bench/soak.ts",
    "",
    `- date: ${started.toISOString()}; soak ${((loadEnd - t0) / 60_000).toFixed(1)} min, drain ${((drained - loadEnd) / 1000).toFixed(0)} s`,
    `- machine: nproc ${availableParallelism()}, ${cpus()[0]?.model ?? "unknown CPU"}, Linux ${release()}; load average ${load0.map((l) => l.toFixed(2)).join(" ")} at start, ${load1.map((l) => l.toFixed(2)).join(" ")} at end (shared, noisy: timings vary, the lost/duplicate counts do not)`,
    `- \`uptime\` at start: \`${uptime0}\`; at end: \`${uptime1}\``,
    `- Node ${process.version}; Kubernetes ${kubeVersion}; pods: stub gateways in network namespaces (harness/podnet)`,
    `- command: \`${command}\``,
    `- operators: 2 processes (${options.operator === "image" ? "dist/main.js as the image runs it" : "src/main.ts"}) \`${operatorArgs.join(" ")}\`, each through its own FaultyProxy to the API server; one that exits is replaced after 1 s by a process with a new identity (as a new pod), which starts as a standby`,
    `- team \`${TEAM}\`: lead \`${LEAD}\` (0 replicas), \`${WORKER}\` ${WORKER_REPLICAS} replicas × maxConcurrentTasks ${WORKER_SLOTS}; tasks take 0.2–1.5 s in the stub; every ${options.faultEvery}th carries a gateway fault (cycling: ${GATEWAY_FAULTS.map((f) => `\`${f.directive}\` → ${f.expect}`).join(", ")}); timeoutSeconds ${TASK_TIMEOUT_SECONDS} (${HANG_TIMEOUT_SECONDS} for hang)`,
    "",
    "### Totals",
    "",
    table(
      ["measure", "value"],
      [
        ["Delegations created (load, pod-delete tasks, burst admissions; warm-up excluded)", String(rows.length)],
        [
          "Succeeded / Failed",
          `${rows.filter((r) => r.d?.status?.phase === "Succeeded").length} / ${rows.filter((r) => r.d?.status?.phase === "Failed").length}`,
        ],
        [
          "**lost** (not terminal after the drain)",
          `**${lostRows.length}**${lostRows.length ? `: ${sample(lostRows)}` : ""}`,
        ],
        [
          "**finished twice** (more than one distinct terminal state per uid, watch)",
          `**${twiceRows.length}**${twiceRows.length ? `: ${sample(twiceRows)}` : ""}`,
        ],
        [
          "**run more often than recorded** (stub executions per uid > status.attempts)",
          `**${overRunRows.length}**${overRunRows.length ? `: ${sample(overRunRows)}` : ""}`,
        ],
        [
          "outcome other than expected for its gateway fault",
          `${unexpectedRows.length}${unexpectedRows.length ? `: ${sample(unexpectedRows)}` : ""}`,
        ],
        ["Failed without a reason and message", String(failedWithoutReason.length)],
        [
          "stub executions (collector) / of live pods, cross-checked with their GET /stats",
          `${servedTotal} / ${statsPods} pods, ${statsMismatch} per-uid mismatches`,
        ],
        ["create requests retried (API server or etcd down)", String(createRetries)],
        [
          "operator restarts",
          `${pair.restarts()} (${pair.slots.map((s) => `${s.identity}: ${s.exits.filter((e) => e.killedBySoak).length} SIGKILLed, ${s.exits.filter((e) => !e.killedBySoak).length} exited on their own${s.exits.some((e) => !e.killedBySoak) ? ` (${[...new Set(s.exits.filter((e) => !e.killedBySoak).map((e) => `code ${e.code}: ${e.lastError ?? "no error logged"}`))].join("; ")})` : ""}`).join("; ")})`,
        ],
      ],
    ),
    "",
    ...(overRunRows.length
      ? [
          "Runs beyond the recorded attempts, by when the first execution started relative to the fault (its kill, cut or restart):",
          "",
          ...[...unrecordedWhy].sort((a, b) => b[1] - a[1]).map(([why, n]) => `- ${n} × ${why}`),
          "",
        ]
      : []),
    "### Per fault class",
    "",
    "A Delegation counts in an infrastructure class when it was unfinished at the injection or created while it lasted; in a gateway class when its task asked for that fault. Recovery: from the injection to the first terminal transition after it ended (and a leader led); tasks take up to 1.5 s, so that is included.",
    "",
    table(
      [
        "class",
        "injected",
        "delegations",
        "Succeeded",
        "Failed (reason)",
        "lost",
        "finished twice",
        "run > recorded",
        "unexpected outcome",
        "recovery p50 / max",
      ],
      classRows,
    ),
    "",
    "Failed, by fault and message (digits as N):",
    "",
    ...[...messages].sort((a, b) => b[1] - a[1]).map(([m, n]) => `- ${n} × ${m}`),
    "",
    "### Operators",
    "",
    table(
      [
        "process",
        "starts",
        "SIGKILLed by the soak",
        "exited on its own",
        "peak RSS (VmHWM, any of its runs)",
        "event-loop lag p99: median / max of 5 s scrapes",
        "event-loop lag max",
      ],
      pair.slots.map((s) => [
        s.identity,
        String(s.starts),
        String(s.exits.filter((e) => e.killedBySoak).length),
        String(s.exits.filter((e) => !e.killedBySoak).length),
        mib(s.peakHwmKiB),
        s.lagP99.length ? `${ms(percentile(s.lagP99, 50) * 1000)} / ${ms(Math.max(...s.lagP99) * 1000)}` : "–",
        ms(s.lagMax * 1000),
      ]),
    ),
    "",
    "### Schedule (as run)",
    "",
    table(
      ["#", "planned at", "started at", "fault", "took", "recovered after", "what happened"],
      faults.map((f, i) => [
        String(i + 1),
        `${(f.scheduledAt / 1000).toFixed(0)} s`,
        `${((f.startedAt - t0) / 1000).toFixed(0)} s`,
        `${f.kind} #${f.index}`,
        ms(f.endedAt - f.startedAt),
        f.recoveredAt ? ms(f.recoveredAt - f.startedAt) : "–",
        f.note.replaceAll("|", "\\|"),
      ]),
      ["r", "r", "r", "l", "r", "r", "l"],
    ),
    "",
  ];
  return lines.join("\n");
}

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
