/**
 * A real Kubernetes control plane on loopback for tests and local development: etcd,
 * kube-apiserver (RBAC, TLS, static admin token), kube-controller-manager, kube-scheduler and
 * kwok (fake nodes whose pods go Running+Ready with IPs from 10.250.0.0/16). No containers run.
 *
 *   const cp = await startControlPlane();
 *   // ... use cp.kubeconfigPath ...
 *   await cp.stop();
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { ControlPlaneError } from "../errors.ts";
import { type Binaries, resolveBinaries } from "./binaries.ts";
import {
  apiserverArgs,
  apiserverURL,
  controllerManagerArgs,
  etcdArgs,
  etcdEndpoint,
  kwokArgs,
  kwokStagesFile,
  makeLayout,
  POD_IP_RANGE,
  type PodReadiness,
  type Ports,
  type RealNodeNetwork,
  SERVICE_CLUSTER_IP_RANGE,
  schedulerArgs,
} from "./components.ts";
import { renderKubeconfig, writeKubeconfig } from "./kubeconfig.ts";
import {
  createKwokNodes,
  DEFAULT_NODE_RESOURCES,
  isNodeSchedulable,
  type KwokNodeSpec,
  type NodeResources,
  podCIDRForNode,
} from "./nodes.ts";
import { caFromServingChain, generateServiceAccountKey, randomToken, tokenFileLine } from "./pki.ts";
import { freeLoopbackPorts } from "./ports.ts";
import { probe } from "./probe.ts";
import { ManagedProcess, registerTempDir, unregisterTempDir } from "./process.ts";
import { throwIfAborted, waitFor } from "./wait.ts";

export {
  KWOK_STAGES_EXTERNAL_READY_FILE,
  KWOK_STAGES_FILE,
  POD_IP_RANGE,
  type PodReadiness,
  type RealNodeNetwork,
  SERVICE_CLUSTER_IP_RANGE,
} from "./components.ts";

export interface ControlPlaneOptions {
  /** Number of kwok nodes (kwok-node-0 ... ; node n gets podCIDR 10.250.n.0/24). Default 1. */
  nodes?: number;
  /** allocatable and capacity of each node. Default 32 cpu, 256Gi memory, 110 pods. */
  nodeResources?: NodeResources;
  /**
   * "kwok" (default): kwok marks pods Running and Ready at once. "external": kwok gives pods their IP,
   * phase Running and running container states, but leaves Ready/ContainersReady False for an outside
   * agent (harness/podnet's pod agent) to set through pods/status.
   */
  podReadiness?: PodReadiness;
  /**
   * Set for a real node (harness/real-node): the API server listens on the node's address, node
   * podCIDRs are allocated, and neither kwok nor kwok nodes are started (`nodes` is ignored).
   */
  realNode?: RealNodeNetwork;
  /** Paths that override those of hack/control-plane-bins.sh (which still runs). */
  binaries?: Partial<Binaries>;
  /** Parent of the fresh temporary data dir. Default os.tmpdir(). */
  tmpDir?: string;
  /** Keep the data dir (logs, etcd data) after stop() or a failed start. Default false. */
  keepDataDir?: boolean;
  /** Time limit of each readiness wait. Default 120 s. */
  timeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL when stopping a component. Default 10 s. */
  stopGraceMs?: number;
  /** Cancels start-up; what was started is cleaned up and the promise rejects with StartAbortedError. */
  signal?: AbortSignal;
  /** Progress messages. Default: to stderr. Pass () => {} to silence. */
  log?: (message: string) => void;
}

export interface ControlPlaneProcess {
  name: string;
  pid: number | undefined;
  logFile: string;
}

export interface ControlPlane {
  /** Admin kubeconfig (cluster-admin token, CA embedded, TLS verified). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Bearer token of the admin user (group system:masters). */
  token: string;
  /** PEM of the CA that issued the apiserver's serving certificate. */
  caCert: string;
  caCertPath: string;
  /** Temporary directory with data, certificates, keys and logs (removed by stop()). */
  dataDir: string;
  logDir: string;
  nodeNames: string[];
  serviceClusterIPRange: string;
  podIPRange: string;
  /** Who sets pods' Ready condition (ControlPlaneOptions.podReadiness). */
  podReadiness: PodReadiness;
  etcdEndpoint: string;
  processes: ControlPlaneProcess[];
  /** Milliseconds from the call to ready (binary resolution included). */
  startupMs: number;
  /**
   * Stops one component and starts it again with the same command line, then waits until it is healthy
   * again (etcd /health, kube-apiserver /readyz). etcd keeps its data dir, the API server its port and
   * serving certificate, so clients reconnect to the same cluster. `kill: true` sends SIGKILL instead of
   * SIGTERM (a crash rather than a clean stop).
   */
  restart(component: RestartableComponent, options?: { kill?: boolean }): Promise<void>;
  /** Stops every component (SIGTERM, then SIGKILL), awaits their exit, removes dataDir. Idempotent. */
  stop(): Promise<void>;
}

export type RestartableComponent = "etcd" | "kube-apiserver";

const defaultLog = (message: string) => process.stderr.write(`[control-plane] ${message}\n`);

/** Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok; see the module doc. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const t0 = Date.now();
  const log = options.log ?? defaultLog;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const signal = options.signal;
  const nodeCount = options.realNode ? 0 : (options.nodes ?? 1);
  const podReadiness = options.podReadiness ?? "kwok";
  if (podReadiness !== "kwok" && podReadiness !== "external") {
    throw new ControlPlaneError(`podReadiness must be "kwok" or "external", got ${String(podReadiness)}`);
  }
  if (!options.realNode && (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 256)) {
    throw new ControlPlaneError(`nodes must be an integer in 1..256, got ${nodeCount}`);
  }

  const binaries: Binaries = { ...(await resolveBinaries(log, signal)) };
  for (const [name, path] of Object.entries(options.binaries ?? {})) if (path) binaries[name] = path;
  throwIfAborted(signal);

  const dataDir = await mkdtemp(join(options.tmpDir ?? tmpdir(), "clawcrew-cp-"));
  if (!options.keepDataDir) registerTempDir(dataDir);
  const processes: ManagedProcess[] = [];
  const commandLines = new Map<string, { args: string[]; env: NodeJS.ProcessEnv | undefined }>();
  /** The health check of each restartable component, set once it first became healthy. */
  const healthChecks = new Map<RestartableComponent, () => Promise<true | undefined>>();

  const stopAll = async () => {
    // Reverse start order: nothing talks to a stopped apiserver, the apiserver drains before etcd.
    const [etcd, apiserver, ...rest] = processes;
    await Promise.all(rest.map((p) => p.stop(stopGraceMs)));
    if (apiserver) await apiserver.stop(stopGraceMs);
    if (etcd) await etcd.stop(stopGraceMs);
    if (!options.keepDataDir) {
      await rm(dataDir, { recursive: true, force: true });
      unregisterTempDir(dataDir);
    }
  };

  try {
    const layout = await makeLayout(dataDir);
    const start = (name: string, args: string[], env?: NodeJS.ProcessEnv) => {
      throwIfAborted(signal);
      const binary = binaries[name];
      if (!binary) throw new ControlPlaneError(`no binary for ${name}`);
      const proc = new ManagedProcess({ name, binary, args, logFile: join(layout.logDir, `${name}.log`), env });
      processes.push(proc);
      commandLines.set(name, { args, env });
      log(`started ${name} (pid ${proc.pid}, log ${proc.logFile})`);
      return proc;
    };
    const wait = <T>(what: string, check: () => Promise<T | undefined>, procs: ManagedProcess[] = processes) =>
      waitFor(what, check, { timeoutMs, processes: procs, signal });

    const [etcdClient = 0, etcdPeer = 0, apiserver = 0, controllerManager = 0, scheduler = 0] =
      await freeLoopbackPorts(5);
    const ports: Ports = { etcdClient, etcdPeer, apiserver, controllerManager, scheduler };
    const server = apiserverURL(ports, options.realNode?.apiserverAddress);

    // --- credentials ---
    const token = randomToken();
    const sa = generateServiceAccountKey();
    await writeFile(layout.saKey, sa.privateKeyPem, { mode: 0o600 });
    await writeFile(layout.saPub, sa.publicKeyPem);
    await writeFile(layout.tokenFile, tokenFileLine(token, "clawcrew-admin", "clawcrew-admin", ["system:masters"]), {
      mode: 0o600,
    });

    // --- etcd ---
    start("etcd", etcdArgs(layout, ports));
    const etcdHealthy = async () => {
      const res = await probe(`${etcdEndpoint(ports)}/health`);
      return res.status === 200 && res.body.includes('"health":"true"') ? (true as const) : undefined;
    };
    await wait("etcd /health", etcdHealthy);
    healthChecks.set("etcd", etcdHealthy);
    log("etcd is healthy");

    // --- kube-apiserver ---
    start("kube-apiserver", apiserverArgs(layout, ports, options.realNode));
    // With --cert-dir and no --tls-cert-file the apiserver self-signs: apiserver.crt holds the
    // serving certificate followed by its CA, which becomes the cluster CA of the kubeconfig.
    const caCert = await wait("kube-apiserver's self-signed certificate", async () =>
      caFromServingChain(await readFile(join(layout.certDir, "apiserver.crt"), "utf8")),
    );
    await writeFile(layout.caCertPath, caCert);
    const apiserverReady = async () => {
      const res = await probe(`${server}/readyz`, { ca: caCert, token });
      return res.status === 200 ? (true as const) : undefined;
    };
    await wait("kube-apiserver /readyz", apiserverReady);
    healthChecks.set("kube-apiserver", apiserverReady);
    writeKubeconfig(layout.kubeconfigPath, { server, caCertPem: caCert, token });
    log(`kube-apiserver is ready at ${server}`);

    // --- controllers, scheduler, kwok ---
    start("kube-controller-manager", controllerManagerArgs(layout, ports, options.realNode));
    start("kube-scheduler", schedulerArgs(layout, ports));
    if (!options.realNode) {
      start("kwok", kwokArgs(layout, kwokStagesFile(podReadiness)), { ...process.env, HOME: layout.kwokHome });
    }

    // --- nodes ---
    const kc = new KubeConfig();
    kc.loadFromString(renderKubeconfig({ server, caCertPem: caCert, token }));
    const core = kc.makeApiClient(CoreV1Api);
    const nodes: KwokNodeSpec[] = Array.from({ length: nodeCount }, (_, i) => ({
      name: `kwok-node-${i}`,
      podCIDR: podCIDRForNode(i),
      resources: options.nodeResources ?? DEFAULT_NODE_RESOURCES,
    }));
    if (nodes.length > 0) {
      await createKwokNodes(core, nodes);
      await wait(`${nodes.length} kwok node(s) Ready and schedulable`, async () => {
        const list = await core.listNode({ labelSelector: "type=kwok" });
        const ready = list.items.filter(isNodeSchedulable).length;
        return ready >= nodes.length ? true : undefined;
      });
      log(`kwok node(s) ready: ${nodes.map((n) => n.name).join(", ")}`);
    }
    await wait("ServiceAccount default/default (kube-controller-manager)", async () => {
      await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
      return true;
    });

    for (const proc of processes) {
      void proc.exited.then((status) => {
        if (!proc.stopping) {
          log(`${proc.name} exited unexpectedly (${status.signal ?? `code ${status.code}`}); log: ${proc.logFile}`);
        }
      });
    }
    const startupMs = Date.now() - t0;
    log(`control plane ready in ${(startupMs / 1000).toFixed(1)} s (data dir ${dataDir})`);
    let stopping: Promise<void> | undefined;
    const restart = async (component: RestartableComponent, restartOptions: { kill?: boolean } = {}) => {
      if (stopping) throw new ControlPlaneError(`cannot restart ${component}: the control plane is stopping`);
      const index = processes.findIndex((p) => p.name === component);
      const old = processes[index];
      const command = commandLines.get(component);
      const healthy = healthChecks.get(component);
      if (!old || !command || !healthy) throw new ControlPlaneError(`no ${component} in this control plane`);
      await old.stop(restartOptions.kill ? 0 : stopGraceMs);
      const binary = binaries[component];
      if (!binary) throw new ControlPlaneError(`no binary for ${component}`);
      const proc = new ManagedProcess({
        name: component,
        binary,
        args: command.args,
        logFile: old.logFile,
        env: command.env,
      });
      processes[index] = proc;
      log(`restarted ${component} (pid ${proc.pid})`);
      await waitFor(`${component} healthy after its restart`, healthy, { timeoutMs, processes: [proc] });
    };
    return {
      kubeconfigPath: layout.kubeconfigPath,
      server,
      token,
      caCert,
      caCertPath: layout.caCertPath,
      dataDir,
      logDir: layout.logDir,
      nodeNames: nodes.map((n) => n.name),
      serviceClusterIPRange: SERVICE_CLUSTER_IP_RANGE,
      podIPRange: options.realNode?.clusterCIDR ?? POD_IP_RANGE,
      podReadiness,
      etcdEndpoint: etcdEndpoint(ports),
      get processes() {
        return processes.map((p) => ({ name: p.name, pid: p.pid, logFile: p.logFile }));
      },
      startupMs,
      restart,
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    const keep = options.keepDataDir ? `; logs kept in ${dataDir}` : " (keepDataDir: true keeps the logs)";
    log(`start-up failed, stopping ${processes.map((p) => p.name).join(", ") || "nothing"}${keep}`);
    await stopAll().catch(() => {});
    throw error;
  }
}
