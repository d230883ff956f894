/** What the real node's start and stop wait for, read with kubectl. */

import type { ManagedProcess } from "../control-plane/process.ts";
import { waitFor } from "../control-plane/wait.ts";
import { kubectl, kubectlOk } from "../kubectl.ts";
import { NODE_NAME } from "./config.ts";

/** true once the node reports Ready (the kubelet registered it and the CNI config is loaded). */
export async function nodeReady(kubeconfig: string): Promise<true | undefined> {
  const out = await kubectlOk(kubeconfig, [
    "get",
    "node",
    NODE_NAME,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
  return out.trim() === "True" ? true : undefined;
}

/**
 * Deletes every pod and waits until the kubelet has stopped them all, so containerd tears down each
 * sandbox and CNI frees its address: the host is then clean before the node's parts stop. Controllers
 * are not stopped first: an operator still running scales its workloads back up, so every 5 s the
 * workloads of the namespaces that still have pods are scaled to zero and their pods deleted again.
 */
export async function deleteAllPods(
  kubeconfig: string,
  processes: readonly ManagedProcess[],
  log: (message: string) => void,
): Promise<void> {
  if (!processes.some((p) => p.name === "kubelet" && p.running)) return;
  const namespacesWithPods = async () => {
    const out = await kubectlOk(kubeconfig, ["get", "pods", "-A", "-o", "jsonpath={.items[*].metadata.namespace}"]);
    return [...new Set(out.split(" ").filter(Boolean))];
  };
  const scaleAndDelete = async (namespaces: string[]) => {
    for (const ns of namespaces) {
      await kubectl(kubeconfig, ["-n", ns, "scale", "deploy,statefulset,replicaset", "--all", "--replicas=0"]);
      await kubectl(kubeconfig, ["-n", ns, "delete", "pods", "--all", "--wait=false", "--grace-period=5"]);
    }
  };
  await scaleAndDelete(await namespacesWithPods());
  let lastRound = performance.now();
  try {
    await waitFor(
      "every pod to stop",
      async () => {
        const left = await namespacesWithPods();
        if (left.length === 0) return true;
        if (performance.now() - lastRound > 5_000) {
          await scaleAndDelete(left);
          lastRound = performance.now();
        }
        return undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  } catch (error) {
    log(`pods left at stop: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
}
