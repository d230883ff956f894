/** What a Delegation object says: finished or not, its last attempt, its pipeline parent, its age. */
import type { Delegation, DelegationStatus } from "../api/delegation.ts";
import { ANNOTATION_CANCEL } from "../api/labels.ts";
import { DELEGATION_KIND } from "../api/registry.ts";
import type { KubeClient } from "../runtime/client.ts";
import { resourcePath } from "../runtime/resource.ts";

export function isTerminal(d: { status?: DelegationStatus | undefined } | undefined): boolean {
  const phase = d?.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

export function lastAttemptId(d: Delegation | undefined): string | undefined {
  const attempts = d?.status?.attempts;
  return attempts?.length ? attempts[attempts.length - 1]!.id : undefined;
}

export function delegationPath(namespace: string, name: string, subresource?: string): string {
  return resourcePath(DELEGATION_KIND.gvr, { namespace, name, ...(subresource && { subresource }) });
}

export function isCancelRequested(d: Delegation): boolean {
  return d.metadata.annotations?.[ANNOTATION_CANCEL] === "true";
}

/** The Delegation that owns `d` as controller (a pipeline parent), if any. */
export function controllerDelegationOwner(d: Delegation): { name: string; uid: string } | undefined {
  const refs = (
    d.metadata as { ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[] }
  ).ownerReferences;
  const ref = refs?.find((r) => r.controller === true && r.kind === "Delegation");
  return ref?.name && ref.uid ? { name: ref.name, uid: ref.uid } : undefined;
}

export function creationTime(d: Delegation, fallback: number): number {
  const text = (d.metadata as { creationTimestamp?: string | Date }).creationTimestamp;
  const ms = text === undefined ? Number.NaN : new Date(text).getTime();
  return Number.isFinite(ms) ? ms : fallback;
}

/** Annotates a Delegation to cancel (`clawcrew.io/cancel: "true"`): it ends Failed/Cancelled, with a record. */
export async function requestCancel(client: KubeClient, namespace: string, name: string): Promise<void> {
  await client.request("PATCH", delegationPath(namespace, name), {
    body: { metadata: { annotations: { [ANNOTATION_CANCEL]: "true" } } },
    contentType: "application/merge-patch+json",
  });
}
