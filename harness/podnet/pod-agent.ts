/**
 * The pod network's kubelet stand-in: watches pods, and for each pod with an IP builds its sandbox
 * (sandbox.ts), starts its process (pod-process.ts), probes GET http://<podIP>:18789/readyz and owns the
 * pod's readiness (Ready/ContainersReady and containerStatuses[].ready through pods/status). Use it with a
 * control plane started with `podReadiness: "external"` and a pod network (network.ts).
 *
 * - Ready: after the first 200 from /readyz (polled every probeIntervalMs).
 * - Not ready: when the pod's process exits (kill(), a crash); the container shows terminated. It is not restarted.
 * - A deleted pod (or one with a deletionTimestamp): SIGTERM, SIGKILL after stopGraceMs, the sandbox is removed.
 * - kwok may hand a deleted pod's IP to a new pod: the new sandbox waits for the old one's teardown.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1ConfigMap, V1Container, V1Pod } from "@kubernetes/client-node";
import { READINESS_PATH } from "../../src/openclaw/pod-layout.ts";
import { GATEWAY_PORT } from "../../src/openclaw/version.ts";
import { KubeClient } from "../../src/runtime/client.ts";
import { isNotFound } from "../../src/runtime/errors.ts";
import { Informer } from "../../src/runtime/informer.ts";
import { type ClusterConnection, loadClusterConnection } from "../../src/runtime/kubeconfig.ts";
import { defaultLogger, type Logger } from "../../src/runtime/log.ts";
import { keyOf } from "../../src/runtime/store.ts";
import { probe } from "../control-plane/probe.ts";
import { registerTempDir, unregisterTempDir } from "../control-plane/process.ts";
import { PodNetError, PodReadinessTimeoutError, PodSpecError, SandboxError } from "../errors.ts";
import { resolveContainerEnv } from "./pod-env.ts";
import { type ExitInfo, type PodProcess, type PodRuntime, startPodProcess } from "./pod-process.ts";
import { createSandbox, type Sandbox } from "./sandbox.ts";
import { configMapVolumeFiles, writeConfigMapVolume } from "./volume.ts";

export const DEFAULT_POD_SELECTOR = "app.kubernetes.io/managed-by=clawcrew";

export interface PodAgentOptions {
  /** Path of a kubeconfig, or a loaded ClusterConnection. */
  kubeconfig: string | ClusterConnection;
  /** What runs in each pod; a function picks per pod. */
  runtime: PodRuntime | ((pod: V1Pod) => PodRuntime);
  /** Watch one namespace; all when unset. */
  namespace?: string;
  /** Default DEFAULT_POD_SELECTOR (the operator's agent pods). */
  labelSelector?: string;
  /** openclaw: the installed package dir; default: hack/openclaw.sh installs the pinned one. */
  packageDir?: string;
  /** stub: extra env such as STUB_DELAY_MS (over the container's own env). */
  stubEnv?: Record<string, string> | ((pod: V1Pod) => Record<string, string>);
  /** Give up waiting for /readyz after this long (the pod stays not Ready). Default 180 s. */
  readyTimeoutMs?: number;
  /** Default 500 ms. */
  probeIntervalMs?: number;
  /** Between SIGTERM and SIGKILL when a pod is deleted or the agent stops. Default 10 s. */
  stopGraceMs?: number;
  log?: (message: string) => void;
  logger?: Logger;
}

export type PodState = "starting" | "ready" | "exited" | "failed" | "stopping";

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  ip: string;
  runtime: PodRuntime;
  state: PodState;
  netns: string | undefined;
  /** Host pid of the pod's init (the namespace's PID 1). */
  initPid: number | undefined;
  /** Milliseconds from the sandbox's creation to the first 200 of /readyz. */
  readyMs: number | undefined;
  exit: ExitInfo | undefined;
  error: Error | undefined;
  /** The pod process's recent stdout and stderr. */
  output(): string;
}

export interface PodAgent {
  pods(): PodInfo[];
  pod(name: string, namespace?: string): PodInfo | undefined;
  /** SIGKILLs the pod's init (all its processes); resolves once it exited and the pod was marked not Ready. */
  kill(name: string, namespace?: string): Promise<void>;
  /** Every init pid this agent has started, for "nothing left" assertions. */
  startedPids(): number[];
  /** Stops watching, stops every pod process and removes every sandbox. Idempotent. */
  stop(): Promise<void>;
}

interface Entry {
  info: PodInfo;
  cancelled: boolean;
  sandbox?: Sandbox;
  process?: PodProcess;
  tempDir?: string;
  task: Promise<void>;
  /** Settles once the process's exit was handled (the status patched). */
  exitHandled?: Promise<void>;
  teardown?: Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const podKey = (namespace: string, name: string) => keyOf({ namespace, name });

let packageDirCache: string | undefined;
function pinnedOpenclawPackageDir(): string {
  packageDirCache ??= dirname(
    execFileSync(fileURLToPath(new URL("../../hack/openclaw.sh", import.meta.url)), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 600_000,
    }).trim(),
  );
  return packageDirCache;
}

/** The container the pod agent runs, checked against the shape it supports. */
function podContainer(pod: V1Pod, runtime: PodRuntime): V1Container {
  const containers = pod.spec?.containers ?? [];
  if (runtime === "openclaw") {
    const inits = (pod.spec?.initContainers ?? []).map((c) => c.name);
    if (containers.length !== 1 || containers[0]?.name !== "gateway" || inits.join(",") !== "config") {
      throw new PodSpecError(
        `the openclaw runtime needs one init container "config" and one container "gateway", got init [${inits}] and [${containers.map((c) => c.name)}]`,
      );
    }
  }
  const container = containers.find((c) => c.name === "gateway") ?? containers[0];
  if (!container) throw new PodSpecError(`pod ${pod.metadata?.name} has no container`);
  return container;
}

export function startPodAgent(options: PodAgentOptions): PodAgent {
  const log = options.log ?? ((message: string) => process.stderr.write(`[pod-agent] ${message}\n`));
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const probeIntervalMs = options.probeIntervalMs ?? 500;
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const connection =
    typeof options.kubeconfig === "string"
      ? loadClusterConnection({ kubeconfig: options.kubeconfig })
      : options.kubeconfig;
  const client = new KubeClient(connection, { userAgent: "clawcrew-podnet-agent" });
  const informer = new Informer<V1Pod>({
    client,
    resource: { group: "", version: "v1", plural: "pods" },
    namespace: options.namespace,
    labelSelector: options.labelSelector ?? DEFAULT_POD_SELECTOR,
    logger: options.logger ?? defaultLogger,
  });
  const entries = new Map<string, Entry>(); // by pod uid
  const ipTeardowns = new Map<string, Promise<void>>(); // by pod IP: the last holder's teardown
  const started = new Set<number>();
  let stopped = false;

  const patchStatus = async (info: PodInfo, container: string, ready: boolean, exit?: ExitInfo) => {
    const now = new Date().toISOString();
    const status = ready ? "True" : "False";
    const reason = ready ? undefined : "ContainersNotReady";
    const state = exit
      ? {
          running: null,
          terminated: {
            exitCode: exit.code ?? 128 + (exit.signal ? constants.signals[exit.signal] : 0),
            ...(exit.signal && { signal: constants.signals[exit.signal] }),
            reason: exit.code === 0 ? "Completed" : "Error",
            finishedAt: now,
          },
        }
      : undefined;
    const body = {
      status: {
        conditions: [
          { type: "Ready", status, lastTransitionTime: now, reason: reason ?? null },
          { type: "ContainersReady", status, lastTransitionTime: now, reason: reason ?? null },
        ],
        containerStatuses: [{ name: container, ready, ...(state && { state, started: false }) }],
      },
    };
    try {
      await client.request("PATCH", `/api/v1/namespaces/${info.namespace}/pods/${info.name}/status`, {
        body,
        contentType: "application/strategic-merge-patch+json",
      });
    } catch (error) {
      if (!isNotFound(error))
        log(
          `could not mark ${podKey(info.namespace, info.name)} ${ready ? "" : "not "}Ready: ${(error as Error).message}`,
        );
    }
  };

  const runPod = async (entry: Entry, pod: V1Pod, runtime: PodRuntime) => {
    const info = entry.info;
    // kwok may give a deleted pod's IP to a new pod, even before the old pod's DELETED event reached us.
    const ipDeadline = Date.now() + 60_000;
    for (;;) {
      await ipTeardowns.get(info.ip);
      const holder = [...entries.values()].find((e) => e !== entry && e.info.ip === info.ip);
      if (!holder || entry.cancelled) break;
      if (Date.now() > ipDeadline) {
        throw new SandboxError(`pod IP ${info.ip} is still held by ${podKey(holder.info.namespace, holder.info.name)}`);
      }
      await (holder.teardown ?? sleep(200));
    }
    if (entry.cancelled) return;
    const container = podContainer(pod, runtime);
    let env = await resolveContainerEnv(client, pod, container);
    let configDir: string | undefined;
    let packageDir: string | undefined;
    if (runtime === "stub") {
      const extra = typeof options.stubEnv === "function" ? options.stubEnv(pod) : options.stubEnv;
      env = { ...env, ...extra };
    } else {
      packageDir = options.packageDir ?? pinnedOpenclawPackageDir();
      const volume = pod.spec?.volumes?.find((v) => v.name === "config" && v.configMap);
      if (!volume?.configMap?.name) throw new PodSpecError(`pod ${info.name} has no ConfigMap volume "config"`);
      const configMap = await client.get<V1ConfigMap>(
        `/api/v1/namespaces/${info.namespace}/configmaps/${volume.configMap.name}`,
      );
      entry.tempDir = mkdtempSync(join(tmpdir(), "clawcrew-podnet-"));
      registerTempDir(entry.tempDir);
      configDir = join(entry.tempDir, "config");
      writeConfigMapVolume(configDir, configMapVolumeFiles(volume, configMap));
    }
    if (entry.cancelled) return;
    const t0 = performance.now();
    entry.sandbox = await createSandbox(info.uid, info.ip);
    info.netns = entry.sandbox.netns;
    if (entry.cancelled) return;
    const proc = startPodProcess({ netns: entry.sandbox.netns, runtime, env, configDir, packageDir });
    entry.process = proc;
    info.output = proc.output;
    started.add(proc.pid);
    proc
      .initPid()
      .then((pid) => {
        info.initPid = pid;
        started.add(pid);
      })
      .catch(() => {});
    entry.exitHandled = proc.exited.then(async (exit) => {
      info.exit = exit;
      if (entry.cancelled) return;
      info.state = "exited";
      log(`${podKey(info.namespace, info.name)} exited (${exit.signal ?? `code ${exit.code}`})`);
      await patchStatus(info, container.name, false, exit);
    });
    const deadline = Date.now() + readyTimeoutMs;
    const url = `http://${info.ip}:${GATEWAY_PORT}${READINESS_PATH}`;
    while (!entry.cancelled && proc.running) {
      const ok = await probe(url, { timeoutMs: 2_000 }).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) {
        throw new PodReadinessTimeoutError(
          `${podKey(info.namespace, info.name)} did not answer ${url} within ${readyTimeoutMs} ms\n${proc.output().slice(-2000)}`,
        );
      }
      await sleep(probeIntervalMs);
    }
    if (entry.cancelled || !proc.running) return;
    info.readyMs = Math.round(performance.now() - t0);
    await patchStatus(info, container.name, true);
    // The process may have died while the patch was in flight: its exit handler marks it not Ready after this.
    if (proc.running) info.state = "ready";
    log(`${podKey(info.namespace, info.name)} Ready at ${info.ip} in ${info.readyMs} ms (${runtime})`);
  };

  const start = (pod: V1Pod) => {
    const uid = pod.metadata!.uid!;
    const runtime = typeof options.runtime === "function" ? options.runtime(pod) : options.runtime;
    const info: PodInfo = {
      namespace: pod.metadata!.namespace!,
      name: pod.metadata!.name!,
      uid,
      ip: pod.status!.podIP!,
      runtime,
      state: "starting",
      netns: undefined,
      initPid: undefined,
      readyMs: undefined,
      exit: undefined,
      error: undefined,
      output: () => "",
    };
    const entry: Entry = { info, cancelled: false, task: Promise.resolve() };
    entries.set(uid, entry);
    entry.task = runPod(entry, pod, runtime).catch((error: unknown) => {
      info.error = error instanceof Error ? error : new PodNetError(String(error), { cause: error });
      if (!entry.cancelled) info.state = "failed";
      log(`${podKey(info.namespace, info.name)} failed: ${info.error.message}`);
    });
  };

  const teardown = (uid: string): Promise<void> => {
    const entry = entries.get(uid);
    if (!entry) return Promise.resolve();
    if (entry.teardown) return entry.teardown;
    entry.cancelled = true;
    entry.info.state = "stopping";
    entry.teardown = (async () => {
      await entry.task;
      await entry.process?.stop(stopGraceMs);
      await entry.sandbox?.destroy();
      if (entry.tempDir) {
        rmSync(entry.tempDir, { recursive: true, force: true });
        unregisterTempDir(entry.tempDir);
      }
      entries.delete(uid);
    })();
    ipTeardowns.set(entry.info.ip, entry.teardown);
    void entry.teardown.finally(() => {
      if (ipTeardowns.get(entry.info.ip) === entry.teardown) ipTeardowns.delete(entry.info.ip);
    });
    return entry.teardown;
  };

  const onPod = (pod: V1Pod) => {
    if (stopped) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (pod.metadata?.deletionTimestamp) {
      void teardown(uid);
      return;
    }
    if (!entries.has(uid) && pod.status?.podIP && !pod.spec?.hostNetwork) start(pod);
  };
  informer.on("add", onPod);
  informer.on("update", (_old, pod) => onPod(pod));
  informer.on("delete", (pod) => {
    if (pod.metadata?.uid) void teardown(pod.metadata.uid);
  });
  informer.start();

  const find = (name: string, namespace?: string) =>
    [...entries.values()].find(
      (e) => e.info.name === name && (namespace === undefined || e.info.namespace === namespace),
    );

  let stopping: Promise<void> | undefined;
  return {
    pods: () => [...entries.values()].map((e) => e.info),
    pod: (name, namespace) => find(name, namespace)?.info,
    async kill(name, namespace) {
      const entry = find(name, namespace);
      if (!entry) throw new PodSpecError(`no running pod ${namespace ? `${namespace}/` : ""}${name}`);
      await entry.process?.kill();
      await entry.exitHandled;
    },
    startedPids: () => [...started],
    stop() {
      stopping ??= (async () => {
        stopped = true;
        await informer.stop();
        await Promise.all([...entries.keys()].map((uid) => teardown(uid)));
        client.close();
      })();
      return stopping;
    },
  };
}
