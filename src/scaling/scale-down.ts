/**
 * Which pods a scale-down removes, and telling the ReplicaSet so. The ReplicaSet deletes the
 * ready pods with the lowest `controller.kubernetes.io/pod-deletion-cost` first: the pods chosen
 * (idle ones) get 0, every other pod 1 + its delegations in flight. The chosen pods are drained
 * (no new work) before the annotation and the new replica count are written.
 */
import type { KubeClient } from "../runtime/client.ts";
import { isConflict, isNotFound } from "../runtime/errors.ts";
import { SCALING_FIELD_MANAGER } from "./conflicts.ts";

export const POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";

export interface PodLoad {
  pod: string;
  uid?: string | undefined;
  inFlight: number;
}

export interface RemovalPlan {
  /** Idle pods that go, at most `remove` of them. */
  victims: string[];
  /** pod → its pod-deletion-cost. */
  costs: Map<string, number>;
}

/** Chooses up to `remove` idle pods to go; busy pods are never chosen. Pure. */
export function planRemoval(pods: readonly PodLoad[], remove: number): RemovalPlan {
  const idle = pods.filter((p) => p.inFlight === 0);
  const victims = idle.slice(0, Math.max(0, remove)).map((p) => p.pod);
  const chosen = new Set(victims);
  const costs = new Map(pods.map((p) => [p.pod, chosen.has(p.pod) ? 0 : 1 + p.inFlight]));
  return { victims, costs };
}

/**
 * Writes each pod's deletion cost. The pod's uid in the patch is a precondition: a pod of the same
 * name that replaced it is not annotated (409). A pod already gone (404, its slice lags) is skipped.
 */
export async function writeDeletionCosts(
  client: Pick<KubeClient, "request">,
  namespace: string,
  pods: readonly PodLoad[],
  costs: ReadonlyMap<string, number>,
): Promise<void> {
  await Promise.all(
    pods.map((p) =>
      client
        .request("PATCH", `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(p.pod)}`, {
          body: {
            metadata: {
              ...(p.uid && { uid: p.uid }),
              annotations: { [POD_DELETION_COST]: String(costs.get(p.pod) ?? 1) },
            },
          },
          contentType: "application/merge-patch+json",
          query: { fieldManager: SCALING_FIELD_MANAGER },
        })
        .catch((error: unknown) => {
          if (!isNotFound(error) && !isConflict(error)) throw error;
        }),
    ),
  );
}
