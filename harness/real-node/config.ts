/**
 * The real node's addresses and the configuration files of its parts (containerd, CNI, kubelet,
 * kube-proxy, kube-router). Pure: paths in, file contents out. The facts behind each setting are in
 * docs/real-node.md.
 */
import { join } from "node:path";
import { SERVICE_CLUSTER_IP_RANGE } from "../control-plane/components.ts";

/** The node's name, and the Linux bridge that the CNI bridge plugin attaches pods to. */
export const NODE_NAME = "real-0";
export const BRIDGE_NAME = "clawcrew-cni0";
/** Pods get addresses here; the range exists only on this machine. */
export const CLUSTER_CIDR = "10.244.0.0/16";
/** The node's podCIDR: kube-controller-manager allocates the first /24 of CLUSTER_CIDR to the only node. */
export const NODE_POD_CIDR = "10.244.0.0/24";
/** The bridge's address: the node's InternalIP, where the API server and the kubelet listen for pods. */
export const NODE_IP = "10.244.0.1";
/** kube-dns's ClusterIP, inside the control plane's service range 10.96.0.0/16. */
export const CLUSTER_DNS_IP = "10.96.0.10";
export const CLUSTER_DOMAIN = "cluster.local";
export const KUBELET_PORT = 10250;
/** containerd's CRI namespace, where the kubelet's images must be. */
export const CONTAINERD_NAMESPACE = "k8s.io";
export const SANDBOX_IMAGE = "registry.k8s.io/pause:3.6";
/** Where Debian's containernetworking-plugins package puts the plugins. */
export const CNI_BIN_DIR = "/usr/lib/cni";

export interface NodeLayout {
  root: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  containerdConfig: string;
  cniConfDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeProxyConfig: string;
}

export function nodeLayout(root: string): NodeLayout {
  return {
    root,
    containerdRoot: join(root, "containerd", "root"),
    containerdState: join(root, "containerd", "state"),
    containerdSocket: join(root, "containerd", "containerd.sock"),
    containerdConfig: join(root, "containerd", "config.toml"),
    cniConfDir: join(root, "cni"),
    kubeletRoot: join(root, "kubelet"),
    kubeletConfig: join(root, "kubelet-config.yaml"),
    kubeProxyConfig: join(root, "kube-proxy-config.yaml"),
  };
}

/**
 * containerd 1.6 with the CRI plugin. restrict_oom_score_adj: the sandbox lacks CAP_SYS_RESOURCE, and
 * runc fails when the kubelet asks for a negative oom_score_adj. runc, not crun: crun refuses the
 * machine's hybrid cgroup layout.
 */
export function containerdConfig(layout: NodeLayout): string {
  return `version = 2
root = ${JSON.stringify(layout.containerdRoot)}
state = ${JSON.stringify(layout.containerdState)}

[grpc]
  address = ${JSON.stringify(layout.containerdSocket)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(SANDBOX_IMAGE)}
  restrict_oom_score_adj = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${JSON.stringify(CNI_BIN_DIR)}
    conf_dir = ${JSON.stringify(layout.cniConfDir)}
`;
}

/** bridge + host-local on the node's podCIDR, portmap, and loopback (containerd adds lo itself). */
export function cniConflist(): string {
  return `${JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "clawcrew",
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE_NAME,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: NODE_POD_CIDR, gateway: NODE_IP }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/**
 * The kubelet on cgroup v1 with the cgroupfs driver and no QoS cgroups (the sandbox cannot create
 * them), serving on the node's address. Webhook authn/authz off: only this machine reaches it.
 */
export function kubeletConfig(layout: NodeLayout): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_IP}
port: ${KUBELET_PORT}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
containerRuntimeEndpoint: unix://${layout.containerdSocket}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
failCgroupV1: false
clusterDNS: [${CLUSTER_DNS_IP}]
clusterDomain: ${CLUSTER_DOMAIN}
resolvConf: ""
authentication:
  anonymous: { enabled: true }
  webhook: { enabled: false }
authorization:
  mode: AlwaysAllow
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%" }
staticPodPath: ""
`;
}

/** kube-proxy in iptables mode; traffic from outside CLUSTER_CIDR to a Service is masqueraded. */
export function kubeProxyConfig(kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: ${CLUSTER_CIDR}
hostnameOverride: ${NODE_NAME}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clientConnection:
  kubeconfig: ${kubeconfig}
conntrack:
  maxPerCore: 0
iptables:
  masqueradeAll: false
  syncPeriod: 10s
`;
}

export function kubeletArgs(layout: NodeLayout, kubeconfig: string): string[] {
  return [
    `--config=${layout.kubeletConfig}`,
    `--kubeconfig=${kubeconfig}`,
    `--root-dir=${layout.kubeletRoot}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${NODE_IP}`,
    "--v=1",
  ];
}

/** kube-router's health port on the host; /healthz answers once its policy controller runs. */
export const KUBE_ROUTER_HEALTH_PORT = 20244;

/**
 * kube-router as the NetworkPolicy engine alone: the bridge CNI keeps pod networking and kube-proxy
 * keeps Services, so its router, service proxy, load balancer and CNI are off.
 */
export function kubeRouterArgs(kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${NODE_NAME}`,
    "--run-firewall=true",
    "--run-router=false",
    "--run-service-proxy=false",
    "--run-loadbalancer=false",
    "--enable-cni=false",
    "--enable-pod-egress=false",
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    `--health-port=${KUBE_ROUTER_HEALTH_PORT}`,
    "--metrics-port=0",
    "--iptables-sync-period=1m",
    "--v=1",
  ];
}
