import type { CoreV1Api, V1Node } from "@kubernetes/client-node";
import { ControlPlaneError } from "../errors.ts";

/** kwok manages only nodes with this annotation (see --manage-nodes-with-annotation-selector). */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
export const KWOK_NODE_ANNOTATION_VALUE = "fake";

export interface NodeResources {
  cpu: string;
  memory: string;
  pods: string;
}

export const DEFAULT_NODE_RESOURCES: NodeResources = { cpu: "32", memory: "256Gi", pods: "110" };

export interface KwokNodeSpec {
  name: string;
  /** Pod IPs are taken from this range by kwok (for example 10.250.0.0/24). */
  podCIDR: string;
  resources: NodeResources;
}

/** The n-th node's pod CIDR: 10.250.<n>.0/24, all inside 10.250.0.0/16. */
export function podCIDRForNode(index: number): string {
  if (index < 0 || index > 255) throw new ControlPlaneError(`node index ${index} out of range 0..255`);
  return `10.250.${index}.0/24`;
}

export function kwokNodeManifest(spec: KwokNodeSpec): V1Node {
  const resources = { cpu: spec.resources.cpu, memory: spec.resources.memory, pods: spec.resources.pods };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: spec.name,
      annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE, "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        type: "kwok",
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
      },
    },
    spec: { podCIDR: spec.podCIDR, podCIDRs: [spec.podCIDR] },
    status: { allocatable: resources, capacity: resources },
  };
}

/** Ready=True and no node.kubernetes.io/* taint that keeps pods away. */
export function isNodeSchedulable(node: V1Node): boolean {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  const blocking = (node.spec?.taints ?? []).some(
    (t) => t.key.startsWith("node.kubernetes.io/") && (t.effect === "NoSchedule" || t.effect === "NoExecute"),
  );
  return ready && !blocking && node.spec?.unschedulable !== true;
}

export async function createKwokNodes(core: CoreV1Api, specs: readonly KwokNodeSpec[]): Promise<void> {
  for (const spec of specs) await core.createNode({ body: kwokNodeManifest(spec) });
}
