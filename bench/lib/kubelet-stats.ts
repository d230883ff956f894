/**
 * Memory of pods as the kubelet reports it (its Summary API, through the API server's node proxy).
 * On these cgroup v1 machines the kubelet gives the working set only, not rssBytes.
 */
import { kubectlOk } from "../../harness/index.ts";

export interface ContainerMemory {
  namespace: string;
  pod: string;
  container: string;
  /** The cgroup's usage less its inactive file pages, bytes: what the kubelet evicts on and limits count. */
  workingSetBytes: number;
}

interface Summary {
  pods?: {
    podRef: { name: string; namespace: string };
    containers?: { name: string; memory?: { workingSetBytes?: number } }[];
  }[];
}

export async function containerMemory(kubeconfig: string, node: string): Promise<ContainerMemory[]> {
  const summary = JSON.parse(
    await kubectlOk(kubeconfig, ["get", "--raw", `/api/v1/nodes/${node}/proxy/stats/summary`]),
  ) as Summary;
  const result: ContainerMemory[] = [];
  for (const pod of summary.pods ?? []) {
    for (const c of pod.containers ?? []) {
      if (c.memory?.workingSetBytes === undefined) continue;
      result.push({
        namespace: pod.podRef.namespace,
        pod: pod.podRef.name,
        container: c.name,
        workingSetBytes: c.memory.workingSetBytes,
      });
    }
  }
  return result;
}
