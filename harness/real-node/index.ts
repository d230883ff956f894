/**
 * A one-node Kubernetes cluster with a real node: the control plane of harness/control-plane
 * (its API server on the node's address) plus containerd with runc, the CNI plugins bridge,
 * host-local, portmap and loopback, the kubelet, kube-proxy in iptables mode, and CoreDNS for
 * cluster.local, and kube-router as its NetworkPolicy engine. Images are built by hack/images.sh and
 * imported into containerd, so pods run the operator and OpenClaw from their own images.
 * Needs root; see docs/real-node.md. One real node per host (a lock file guards its bridge and ports).
 *
 *   const cluster = await startRealCluster();
 *   // ... helm install, kubectl apply with cluster.kubeconfigPath ...
 *   await cluster.stop();
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveBinaries } from "../control-plane/binaries.ts";
import { releaseLock, takeLock } from "../control-plane/host-lock.ts";
import { type ControlPlane, startControlPlane } from "../control-plane/index.ts";
import { ManagedProcess, registerExitCleanup, registerTempDir, unregisterTempDir } from "../control-plane/process.ts";
import { waitFor } from "../control-plane/wait.ts";
import { HostRequirementError, RealNodeBusyError, RealNodeError } from "../errors.ts";
import {
  CLUSTER_CIDR,
  CNI_BIN_DIR,
  cniConflist,
  containerdConfig,
  KUBE_ROUTER_HEALTH_PORT,
  kubeletArgs,
  kubeletConfig,
  kubeProxyConfig,
  kubeRouterArgs,
  NODE_IP,
  NODE_NAME,
  nodeLayout,
} from "./config.ts";
import { deployCoreDNS } from "./coredns.ts";
import { createBridge, enableForwarding, NODE_DIR_PREFIX, sweepHost } from "./host.ts";
import { buildImages, type ImageArchives, importImages } from "./images.ts";
import { deleteAllPods, nodeReady } from "./node-status.ts";

export { CLUSTER_DNS_IP, NODE_IP, NODE_NAME } from "./config.ts";
export { sweepHost } from "./host.ts";
export * from "./install.ts";

export const LOCK_FILE = "/run/clawcrew-real-node.lock";

export interface RealClusterOptions {
  /** Time limit of each readiness wait. Default 180 s. */
  timeoutMs?: number;
  /** Keep the control plane's and the node's data dirs (logs) after stop(). Default false. */
  keepDataDir?: boolean;
  signal?: AbortSignal;
  /** Progress messages. Default: to stderr. */
  log?: (message: string) => void;
}

export interface RealCluster {
  controlPlane: ControlPlane;
  kubeconfigPath: string;
  /** The images imported into containerd, by name. */
  images: ImageArchives;
  /** The node's directory (containerd, kubelet) and its logs. */
  nodeDir: string;
  logDir: string;
  /** Milliseconds of each start-up step. */
  timings: Record<string, number>;
  /** Deletes every pod, stops the node's parts and the control plane, and leaves nothing behind. Idempotent. */
  stop(): Promise<void>;
}

const defaultLog = (message: string) => process.stderr.write(`[real-node] ${message}\n`);

function checkHost(): void {
  if (process.getuid?.() !== 0)
    throw new HostRequirementError("the real node needs root (containerd, iptables, mounts)");
  const missing = ["/usr/bin/containerd", "/usr/sbin/runc", "/usr/bin/ctr", `${CNI_BIN_DIR}/bridge`]
    .concat(["/usr/sbin/iptables", "/usr/sbin/conntrack", "/usr/sbin/ipset"])
    .filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new HostRequirementError(`missing ${missing.join(", ")}: run hack/real-node-deps.sh (as root)`);
  }
}

async function httpOk(url: string): Promise<true | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? true : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the cluster; see the module doc. On failure everything started so far is removed again. */
export async function startRealCluster(options: RealClusterOptions = {}): Promise<RealCluster> {
  const log = options.log ?? defaultLog;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const timings: Record<string, number> = {};
  const step = async <T>(name: string, what: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await what();
    timings[name] = Math.round(performance.now() - t0);
    return result;
  };
  checkHost();
  takeLock(LOCK_FILE, {
    busy: (pid) => new RealNodeBusyError(LOCK_FILE, pid),
    removeLeftovers: (pid) => {
      log(`stale real-node lock of dead pid ${pid || "?"}: removing its leftovers`);
      sweepHost();
    },
    failed: () => new RealNodeError(`could not take the real-node lock ${LOCK_FILE}`),
  });
  // From here a crash must leave nothing: the exit hook sweeps the host before it kills the children.
  const unregisterSweep = registerExitCleanup(() => {
    sweepHost();
    releaseLock(LOCK_FILE);
  });
  const processes: ManagedProcess[] = [];
  let controlPlane: ControlPlane | undefined;
  let nodeDir: string | undefined;
  const stopAll = async () => {
    if (controlPlane) await deleteAllPods(controlPlane.kubeconfigPath, processes, log);
    for (const proc of [...processes].reverse()) await proc.stop(10_000);
    sweepHost();
    await controlPlane?.stop();
    if (nodeDir && !options.keepDataDir) {
      await rm(nodeDir, { recursive: true, force: true });
      unregisterTempDir(nodeDir);
    }
    unregisterSweep();
    releaseLock(LOCK_FILE);
  };
  try {
    sweepHost();
    const bins = await resolveBinaries(log, options.signal);
    const images = await step("imagesMs", () => buildImages(log));
    await createBridge();
    enableForwarding();
    controlPlane = await step("controlPlaneMs", () =>
      startControlPlane({
        realNode: { apiserverAddress: NODE_IP, clusterCIDR: CLUSTER_CIDR },
        keepDataDir: options.keepDataDir,
        timeoutMs,
        signal: options.signal,
        log,
      }),
    );
    const cp = controlPlane;
    nodeDir = await mkdtemp(join(tmpdir(), NODE_DIR_PREFIX));
    if (!options.keepDataDir) registerTempDir(nodeDir);
    const layout = nodeLayout(nodeDir);
    const logDir = join(nodeDir, "logs");
    for (const dir of [logDir, layout.cniConfDir, layout.kubeletRoot, join(nodeDir, "containerd")]) {
      await mkdir(dir, { recursive: true });
    }
    await writeFile(layout.containerdConfig, containerdConfig(layout));
    await writeFile(join(layout.cniConfDir, "10-clawcrew.conflist"), cniConflist());
    await writeFile(layout.kubeletConfig, kubeletConfig(layout));
    await writeFile(layout.kubeProxyConfig, kubeProxyConfig(cp.kubeconfigPath));
    const start = (name: string, binary: string, args: string[]) => {
      const proc = new ManagedProcess({ name, binary, args, logFile: join(logDir, `${name}.log`) });
      processes.push(proc);
      log(`started ${name} (pid ${proc.pid}, log ${proc.logFile})`);
      return proc;
    };
    const wait = <T>(what: string, check: () => Promise<T | undefined>) =>
      waitFor(what, check, { timeoutMs, processes, signal: options.signal, intervalMs: 500 });

    start("containerd", "/usr/bin/containerd", ["--config", layout.containerdConfig]);
    await wait("containerd's socket", async () => (existsSync(layout.containerdSocket) ? true : undefined));
    await step("importMs", () => importImages(layout.containerdSocket, images));
    log(`imported ${Object.keys(images).length} images into containerd`);

    const kubelet = bins.kubelet;
    const kubeProxy = bins["kube-proxy"];
    const kubeRouter = bins["kube-router"];
    if (!kubelet || !kubeProxy || !kubeRouter) {
      throw new RealNodeError("hack/control-plane-bins.sh printed no kubelet, kube-proxy or kube-router");
    }
    await step("nodeReadyMs", async () => {
      start("kubelet", kubelet, kubeletArgs(layout, cp.kubeconfigPath));
      start("kube-proxy", kubeProxy, [`--config=${layout.kubeProxyConfig}`]);
      await wait(`node ${NODE_NAME} Ready`, () => nodeReady(cp.kubeconfigPath));
    });
    log(`node ${NODE_NAME} is Ready`);
    // kube-router reads the Node object, so it starts once the node is registered.
    await step("networkPolicyMs", async () => {
      start("kube-router", kubeRouter, kubeRouterArgs(cp.kubeconfigPath));
      await wait("kube-router's policy controller", () =>
        httpOk(`http://127.0.0.1:${KUBE_ROUTER_HEALTH_PORT}/healthz`),
      );
    });
    log("kube-router enforces NetworkPolicy");
    await step("dnsMs", () => deployCoreDNS(cp.kubeconfigPath, wait));
    log("CoreDNS serves cluster.local");

    let stopping: Promise<void> | undefined;
    return {
      controlPlane: cp,
      kubeconfigPath: cp.kubeconfigPath,
      images,
      nodeDir,
      logDir,
      timings,
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    log(`start-up failed (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); cleaning up`);
    await stopAll().catch(() => {});
    throw error;
  }
}
