/**
 * metav1.Condition helpers with the semantics of apimachinery's meta.SetStatusCondition:
 * lastTransitionTime changes only when status changes; reason, message and observedGeneration
 * are always updated. Lists are never mutated: a new array is returned.
 */
import type { Condition } from "../api/meta.ts";
import { metaTime } from "./time.ts";

/** A condition to set; lastTransitionTime defaults to now when the status changes. */
export type ConditionUpdate = Omit<Condition, "lastTransitionTime"> & { lastTransitionTime?: string };

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Returns the list with `next` added or merged into the condition of the same type. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionUpdate,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const existing = index >= 0 ? list[index] : undefined;
  const transitioned = !existing || existing.status !== next.status;
  const merged: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime: transitioned ? (next.lastTransitionTime ?? metaTime(now)) : existing.lastTransitionTime,
  };
  if (next.observedGeneration !== undefined) merged.observedGeneration = next.observedGeneration;
  if (existing) list[index] = merged;
  else list.push(merged);
  return list;
}
