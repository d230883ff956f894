/** The benchmarks' cluster: a control plane with the CRDs installed and one namespace ready for pods. */
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, KubeConfig, VersionApi } from "@kubernetes/client-node";
import {
  type ControlPlane,
  type ControlPlaneOptions,
  kubectlOk,
  repoRoot,
  startControlPlane,
} from "../../harness/index.ts";

export interface BenchClusterOptions {
  namespace: string;
  podReadiness?: ControlPlaneOptions["podReadiness"];
  nodeResources: NonNullable<ControlPlaneOptions["nodeResources"]>;
  keepLogs: boolean;
  /** Limit of the wait for the namespace's default ServiceAccount. */
  timeoutMs: number;
  /** The control plane's stop is pushed here. */
  cleanups: (() => Promise<void>)[];
  log: (message: string) => void;
  signal: AbortSignal;
}

export interface BenchCluster {
  controlPlane: ControlPlane;
  kubeconfig: string;
  kc: KubeConfig;
  core: CoreV1Api;
  kubeVersion: string;
}

export async function startBenchCluster(o: BenchClusterOptions): Promise<BenchCluster> {
  const controlPlane = await startControlPlane({
    signal: o.signal,
    ...(o.podReadiness && { podReadiness: o.podReadiness }),
    log: (m) => o.log(`control plane: ${m}`),
    keepDataDir: o.keepLogs,
    nodeResources: o.nodeResources,
  });
  o.cleanups.push(async () => {
    o.log(
      o.keepLogs ? `stopping the control plane (data kept in ${controlPlane.dataDir})` : "stopping the control plane",
    );
    await controlPlane.stop();
  });
  const kubeconfig = controlPlane.kubeconfigPath;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const kubeVersion = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;

  o.log("installing the CRDs");
  await kubectlOk(kubeconfig, ["apply", "--server-side", "-f", `${repoRoot}/crds`]);
  await kubectlOk(kubeconfig, [
    "wait",
    "--for=condition=Established",
    "crd",
    "-l",
    "app.kubernetes.io/part-of=clawcrew",
    "--timeout=60s",
  ]);
  await core.createNamespace({ body: { metadata: { name: o.namespace } } });
  // Pods are refused until the namespace's default ServiceAccount exists.
  const deadline = performance.now() + o.timeoutMs;
  for (;;) {
    try {
      await core.readNamespacedServiceAccount({ name: "default", namespace: o.namespace });
      break;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(50, undefined, { signal: o.signal });
    }
  }
  return { controlPlane, kubeconfig, kc, core, kubeVersion };
}
