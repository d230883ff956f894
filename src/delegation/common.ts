/** Names, labels and small helpers shared by the delegation modules. */
import type { Delegation, DelegationPhase, DelegationStatus } from "../api/delegation.ts";
import { GROUP, VERSION } from "../api/meta.ts";
import { type GroupVersionResource, resourcePath } from "../runtime/resource.ts";

export const DELEGATIONS: GroupVersionResource = { group: GROUP, version: VERSION, plural: "delegations" };

/** `"true"` cancels a Delegation and keeps a Failed/Cancelled record. */
export const ANNOTATION_CANCEL = "clawcrew.io/cancel";
/**
 * Set by the delegation endpoint on the Delegations it creates after admitting them: the agents the
 * Delegation may go to, best first. Only the operator may set it (the chart's admission policy).
 */
export const ANNOTATION_ADMITTED = "clawcrew.io/admitted-candidates";
/** On result ConfigMaps: the Delegation they belong to. */
export const LABEL_DELEGATION = "clawcrew.io/delegation";
/** On pipeline children: the stage index. */
export const LABEL_STAGE = "clawcrew.io/stage";
export const LABEL_TEAM = "clawcrew.io/team";
export const LABEL_FROM = "clawcrew.io/from";
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "clawcrew" } as const;

export const TERMINAL_PHASES: readonly DelegationPhase[] = ["Succeeded", "Failed"];

export function isTerminal(d: { status?: DelegationStatus | undefined } | undefined): boolean {
  const phase = d?.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

export function lastAttemptId(d: Delegation | undefined): string | undefined {
  const attempts = d?.status?.attempts;
  return attempts?.length ? attempts[attempts.length - 1]!.id : undefined;
}

export function delegationPath(namespace: string, name: string, subresource?: string): string {
  return resourcePath(DELEGATIONS, { namespace, name, ...(subresource && { subresource }) });
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
