/** Finished Delegations are deleted once their TTL (from the team's policy) has passed. */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import type { AgentTeam } from "../api/team.ts";
import { deleteIgnoringNotFound } from "../runtime/apply.ts";
import type { KubeClient } from "../runtime/client.ts";
import { controllerDelegationOwner, creationTime } from "./delegation-object.ts";
import { effectivePolicy } from "./policy.ts";

/** Deletes `d` when its TTL has passed; otherwise says when to look again. */
export async function expire(
  client: KubeClient,
  d: Delegation,
  team: AgentTeam | undefined,
  now: number,
): Promise<{ requeueAfter: number } | undefined> {
  if (controllerDelegationOwner(d)) return undefined; // a pipeline stage goes with its parent
  const policy = effectivePolicy(d, team, undefined, now);
  const completed = d.status?.completionTime ? new Date(d.status.completionTime).getTime() : creationTime(d, now);
  const left = completed + policy.ttlSeconds * 1000 - now;
  if (left > 0) return { requeueAfter: left };
  await deleteIgnoringNotFound(client, d as unknown as KubernetesObject, { uid: d.metadata.uid! });
  return undefined;
}
