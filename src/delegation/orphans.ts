/**
 * No orphans: when a Delegation finishes or is gone, the Delegations made as parts of it
 * (`spec.parent`, or controlled by it) that still run are cancelled, each with a Failed/Cancelled
 * record that names the parent. A sub-task whose requester no longer waits would otherwise run on,
 * holding a slot, until its own deadline.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import { BY_PARENT } from "../api/indexes.ts";
import { DELEGATION_KIND } from "../api/registry.ts";
import type { KubeClient } from "../runtime/client.ts";
import { isNotFound } from "../runtime/errors.ts";
import type { Informer } from "../runtime/informer.ts";
import { keyOf } from "../runtime/store.ts";
import { isCancelRequested, isTerminal, requestCancel } from "./delegation-object.ts";

/** Annotates every unfinished child of namespace/name to cancel. */
export async function cancelChildren(
  client: KubeClient,
  delegations: Informer<KubernetesObject>,
  namespace: string,
  name: string,
): Promise<void> {
  for (const obj of delegations.byIndex(BY_PARENT, keyOf({ namespace, name }))) {
    const child = DELEGATION_KIND.checkedCached(obj);
    if (!child || isTerminal(child) || isCancelRequested(child)) continue;
    try {
      await requestCancel(client, namespace, child.metadata.name!);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** Why a child is being cancelled, when it is because its parent ended; undefined otherwise. */
export function parentEnded(d: Delegation, delegations: Informer<KubernetesObject>): string | undefined {
  const parent = d.spec.parent;
  if (!parent) return undefined;
  const found = DELEGATION_KIND.lookup(delegations, d.metadata.namespace ?? "", parent);
  if (!found) return `cancelled: its parent Delegation ${parent} is gone`;
  if (isTerminal(found)) return `cancelled: its parent Delegation ${parent} finished (${found.status?.phase})`;
  return undefined;
}
