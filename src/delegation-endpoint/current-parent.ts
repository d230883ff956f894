/**
 * The parent of an agent's request that names none. Depth and loop checks follow `parent`, so an
 * agent that leaves it out while working on a Delegation must not start a fresh chain: the one
 * Delegation it is running is the parent; with several, it must say which.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import { BY_AGENT } from "../api/indexes.ts";
import { DELEGATION_KIND } from "../api/registry.ts";
import type { IndexedCache } from "../runtime/store.ts";
import { keyOf } from "../runtime/store.ts";
import { EndpointError } from "./service.ts";

/** The Delegations `agent` is running now, as the cache shows them. */
export function runningDelegationsOf(
  delegations: Pick<IndexedCache<KubernetesObject>, "byIndex">,
  namespace: string,
  agent: string,
): Delegation[] {
  return delegations.byIndex(BY_AGENT, keyOf({ namespace, name: agent })).flatMap((obj) => {
    const d = DELEGATION_KIND.checkedCached(obj);
    return d?.status?.phase === "Running" && d.status.agent === agent ? [d] : [];
  });
}

/** `parent` when given; else the caller's one running Delegation, if any. Throws when it runs several. */
export function parentOfRequest(
  parent: string | undefined,
  agent: string,
  running: readonly Delegation[],
): string | undefined {
  if (parent) return parent;
  if (running.length === 0) return undefined;
  if (running.length === 1) return running[0]!.metadata.name;
  const names = running.map((d) => d.metadata.name).sort();
  const shown = names.slice(0, 3).join(", ") + (names.length > 3 ? `, and ${names.length - 3} more` : "");
  throw new EndpointError(
    400,
    "ParentRequired",
    `parent is required: ${agent} is running ${names.length} Delegations (${shown}); pass the one this request is part of`,
  );
}
