/** Data-dir layout and the command lines of the control-plane components. */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KWOK_NODE_ANNOTATION, KWOK_NODE_ANNOTATION_VALUE, podCIDRForNode } from "./nodes.ts";

export const SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16";
/** Every kwok node's spec.podCIDR is a /24 inside this range. */
export const POD_IP_RANGE = "10.250.0.0/16";
export const KWOK_STAGES_FILE = fileURLToPath(new URL("./kwok-stages.yaml", import.meta.url));
/** The same stages, except that pods stay Ready=False until something else marks them (podReadiness "external"). */
export const KWOK_STAGES_EXTERNAL_READY_FILE = fileURLToPath(
  new URL("./kwok-stages-external-ready.yaml", import.meta.url),
);

/** Who sets a pod's Ready condition: kwok at once ("kwok"), or an outside agent ("external"). */
export type PodReadiness = "kwok" | "external";

export function kwokStagesFile(readiness: PodReadiness): string {
  return readiness === "external" ? KWOK_STAGES_EXTERNAL_READY_FILE : KWOK_STAGES_FILE;
}

export interface Layout {
  dataDir: string;
  logDir: string;
  etcdDir: string;
  pkiDir: string;
  /** kube-apiserver --cert-dir: it writes its self-signed apiserver.crt/.key here. */
  certDir: string;
  saKey: string;
  saPub: string;
  caCertPath: string;
  tokenFile: string;
  kubeconfigPath: string;
  /** HOME of kwok, so that it does not read the user's ~/.kwok/kwok.yaml. */
  kwokHome: string;
}

export async function makeLayout(dataDir: string): Promise<Layout> {
  const pki = join(dataDir, "pki");
  const layout: Layout = {
    dataDir,
    logDir: join(dataDir, "logs"),
    etcdDir: join(dataDir, "etcd"),
    pkiDir: pki,
    certDir: join(pki, "apiserver"),
    saKey: join(pki, "sa.key"),
    saPub: join(pki, "sa.pub"),
    caCertPath: join(pki, "ca.crt"),
    tokenFile: join(pki, "tokens.csv"),
    kubeconfigPath: join(dataDir, "kubeconfig"),
    kwokHome: join(dataDir, "kwok"),
  };
  for (const dir of [layout.logDir, layout.certDir, layout.kwokHome, layout.etcdDir]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  return layout;
}

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

export const etcdEndpoint = (ports: Ports) => `http://127.0.0.1:${ports.etcdClient}`;
export const apiserverURL = (ports: Ports, address = LOOPBACK) => `https://${address}:${ports.apiserver}`;

const LOOPBACK = "127.0.0.1";

/** Where the API server listens and what the cluster looks like to a real node; none for kwok alone. */
export interface RealNodeNetwork {
  /** The API server's bind and advertise address: the node's address, which pods reach. */
  apiserverAddress: string;
  /** The pod range that kube-controller-manager cuts node podCIDRs from. */
  clusterCIDR: string;
}

export function etcdArgs(layout: Layout, ports: Ports): string[] {
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    "--name=default",
    `--data-dir=${layout.etcdDir}`,
    `--listen-client-urls=${etcdEndpoint(ports)}`,
    `--advertise-client-urls=${etcdEndpoint(ports)}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    "--initial-cluster-state=new",
    "--unsafe-no-fsync=true",
    "--log-level=warn",
  ];
}

export function apiserverArgs(layout: Layout, ports: Ports, network?: RealNodeNetwork): string[] {
  const address = network?.apiserverAddress ?? LOOPBACK;
  return [
    `--etcd-servers=${etcdEndpoint(ports)}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    `--secure-port=${ports.apiserver}`,
    // No --tls-cert-file: the apiserver self-signs into --cert-dir (serving cert + its CA).
    `--cert-dir=${layout.certDir}`,
    `--token-auth-file=${layout.tokenFile}`,
    "--authorization-mode=RBAC",
    // On by default in OpenShift: setting blockOwnerDeletion needs update on the owner's finalizers.
    "--enable-admission-plugins=OwnerReferencesPermissionEnforcement",
    "--anonymous-auth=false",
    "--allow-privileged=true",
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${layout.saPub}`,
    `--service-account-signing-key-file=${layout.saKey}`,
    ...(network
      ? // Pods reach the API server through the `kubernetes` Service; logs and exec dial the node's InternalIP.
        ["--endpoint-reconciler-type=lease", "--kubelet-preferred-address-types=InternalIP"]
      : // The `kubernetes` Service would get Endpoints at 127.0.0.1, which the apiserver refuses
        // (loopback addresses are invalid endpoints); nothing in a kwok cluster needs them.
        ["--endpoint-reconciler-type=none"]),
    "--profiling=false",
  ];
}

// No --authentication/authorization-kubeconfig for the controller manager and the scheduler: their
// own HTTPS endpoints then serve only the always-allowed /healthz, /readyz and /livez, and they do
// not look for the extension-apiserver-authentication ConfigMap (which exists only with a client CA).
function componentArgs(layout: Layout, name: string, port: number): string[] {
  return [
    `--kubeconfig=${layout.kubeconfigPath}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${join(layout.pkiDir, name)}`,
    "--leader-elect=false",
    "--profiling=false",
  ];
}

export function controllerManagerArgs(layout: Layout, ports: Ports, network?: RealNodeNetwork): string[] {
  return [
    ...componentArgs(layout, "kube-controller-manager", ports.controllerManager),
    `--service-account-private-key-file=${layout.saKey}`,
    `--root-ca-file=${layout.caCertPath}`,
    "--use-service-account-credentials=true",
    // kwok nodes get their podCIDR when they are created; a real node gets one cut from the cluster CIDR.
    ...(network
      ? ["--allocate-node-cidrs=true", `--cluster-cidr=${network.clusterCIDR}`, "--node-cidr-mask-size=24"]
      : ["--allocate-node-cidrs=false"]),
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    "--cluster-name=clawcrew-local",
  ];
}

export function schedulerArgs(layout: Layout, ports: Ports): string[] {
  return componentArgs(layout, "kube-scheduler", ports.scheduler);
}

export function kwokArgs(layout: Layout, stagesFile: string = KWOK_STAGES_FILE): string[] {
  return [
    `--kubeconfig=${layout.kubeconfigPath}`,
    `--config=${stagesFile}`,
    "--manage-all-nodes=false",
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=${KWOK_NODE_ANNOTATION_VALUE}`,
    // kwok keeps a Lease per node, so the node lifecycle controller sees them alive.
    "--node-lease-duration-seconds=40",
    // Only used for pods on a node without spec.podCIDR (ours all have one).
    `--cidr=${podCIDRForNode(0)}`,
  ];
}
