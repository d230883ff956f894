/**
 * Writes that never take over an object the operator did not create. A forced server-side apply
 * writes whatever holds the name, so every owned object goes through applyControlled: it is written
 * only when absent or already controlled by the same owner (by uid), like controller-runtime's
 * SetControllerReference refusing a second controller, but also for objects with no owner at all.
 */
import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import { apply, InvalidObjectError, objectPath, type WriteOptions } from "./apply.ts";
import type { KubeClient } from "./client.ts";
import type { IndexFunction } from "./store.ts";

/** The controller reference of an object, if any. */
export function controllerOf(obj: KubernetesObject): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** The index of objects by their controller's uid, like controller-runtime's owner index: what an owner controls. */
export const BY_CONTROLLER = "controller";
export const controllerUid: IndexFunction<KubernetesObject> = (obj) => {
  const uid = controllerOf(obj)?.uid;
  return uid ? [uid] : [];
};

export function isControlledBy(obj: KubernetesObject, ownerUid: string | undefined): boolean {
  return ownerUid !== undefined && controllerOf(obj)?.uid === ownerUid;
}

/** "ConfigMap team-a/x" */
export function describeObject(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind} ${ns ? `${ns}/` : ""}${obj.metadata?.name}`;
}

/** Who holds an object the operator must not write, in words for a condition. */
export function describeHolder(obj: KubernetesObject): string {
  const controller = controllerOf(obj);
  if (controller) return `controlled by ${controller.kind} ${controller.name}`;
  const manager = obj.metadata?.managedFields?.[0]?.manager;
  return manager ? `created by ${manager}, with no controller` : "not created by clawcrew";
}

/** "ConfigMap ns/x exists, controlled by …": one conflict, for NotControlledError. */
export function describeConflict(live: KubernetesObject): string {
  return `${describeObject(live)} exists, ${describeHolder(live)}`;
}

/** Objects that exist under the wanted names but are not the owner's: nothing was written. */
export class NotControlledError extends Error {
  override readonly name = "NotControlledError";
  /** Each conflicting object, described with its holder. */
  readonly conflicts: string[];

  constructor(conflicts: string[]) {
    const them = conflicts.length > 1 ? "them" : "it";
    super(`${conflicts.join("; ")}: clawcrew does not take over objects it did not create; rename or remove ${them}`);
    this.conflicts = conflicts;
  }
}

function ownerUidOf(obj: KubernetesObject): string {
  const uid = controllerOf(obj)?.uid;
  if (!uid) throw new InvalidObjectError(`${describeObject(obj)} has no controller ownerReference to check`);
  return uid;
}

/** The live object, or undefined when absent. */
export async function getObject<T extends KubernetesObject>(
  client: KubeClient,
  obj: KubernetesObject,
  signal?: AbortSignal,
): Promise<T | undefined> {
  return client.getIfExists<T>(await objectPath(client, obj, undefined, signal), { signal });
}

/**
 * Applies each object, in order, when every one of them is absent or controlled by its own controller
 * ownerReference's uid. Otherwise writes none and throws NotControlledError naming each conflict.
 * Each write carries the uid that was read, so a namesake created in between is refused (409).
 */
export async function applyControlled<T extends KubernetesObject>(
  client: KubeClient,
  objects: readonly T[],
  options: WriteOptions = {},
): Promise<T[]> {
  const existing = await Promise.all(objects.map((obj) => getObject(client, obj, options.signal)));
  const conflicts = objects.flatMap((obj, i) => {
    const live = existing[i];
    return live && !isControlledBy(live, ownerUidOf(obj)) ? [describeConflict(live)] : [];
  });
  if (conflicts.length > 0) throw new NotControlledError(conflicts);
  const applied: T[] = [];
  for (const [i, obj] of objects.entries()) {
    const uid = existing[i]?.metadata?.uid;
    applied.push(await apply(client, uid ? { ...obj, metadata: { ...obj.metadata, uid } } : obj, options));
  }
  return applied;
}
