/**
 * Writes with server-side apply under one field manager. Every apply is forced (the operator owns
 * the fields it sets, even if someone else changed them) and strictly validated (an unknown or
 * duplicate field is an error, not silently dropped).
 *
 * A refused field (unknown, duplicate, not in the schema) rejects with FieldValidationError, which
 * retrying cannot fix; the API server reports some of these as 500.
 *
 * Apply complete desired objects built from scratch: fields the manager set before and leaves out
 * now are removed. Do not send resourceVersion or managedFields.
 */
import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import type { KubeClient } from "./client.ts";
import { asFieldValidationError, isNotFound, KubeApiError } from "./errors.ts";
import { sameJson } from "./json.ts";
import { resourcePath } from "./resource.ts";
import type { NamedObject } from "./store.ts";

export const FIELD_MANAGER = "clawcrew-operator";

const APPLY_CONTENT_TYPE = "application/apply-patch+yaml"; // JSON is YAML

/** The object lacks what is needed to address it (apiVersion, kind, name, namespace, uid). */
export class InvalidObjectError extends Error {
  override readonly name = "InvalidObjectError";
}

export interface WriteOptions {
  /** Validate and return the result without persisting it (`dryRun=All`). */
  dryRun?: boolean;
  signal?: AbortSignal;
}

/** Server-side applies `obj` (create or update) and returns the object the server stored. */
export function apply<T extends KubernetesObject>(client: KubeClient, obj: T, options: WriteOptions = {}): Promise<T> {
  return patchApply(client, obj, undefined, options);
}

/** Server-side applies `obj.status` through the status subresource. */
export function applyStatus<T extends KubernetesObject>(
  client: KubeClient,
  obj: T,
  options: WriteOptions = {},
): Promise<T> {
  return patchApply(client, obj, "status", options);
}

/**
 * Applies `status` to the object's status subresource unless it equals `previous` (key order
 * ignored): a reconcile that changes nothing writes nothing. Resolves true when it wrote.
 */
export async function applyStatusIfChanged(
  client: KubeClient,
  target: { apiVersion: string; kind: string; namespace: string; name: string },
  previous: unknown,
  status: unknown,
  options: WriteOptions = {},
): Promise<boolean> {
  if (sameJson(status, previous)) return false;
  const { apiVersion, kind, namespace, name } = target;
  await applyStatus(client, { apiVersion, kind, metadata: { name, namespace }, status } as KubernetesObject, options);
  return true;
}

async function patchApply<T extends KubernetesObject>(
  client: KubeClient,
  obj: T,
  subresource: string | undefined,
  options: WriteOptions,
): Promise<T> {
  const path = await objectPath(client, obj, subresource, options.signal);
  const request = client.request<T>("PATCH", path, {
    body: obj,
    contentType: APPLY_CONTENT_TYPE,
    query: {
      fieldManager: FIELD_MANAGER,
      force: true,
      fieldValidation: "Strict",
      dryRun: options.dryRun ? "All" : undefined,
    },
    signal: options.signal,
  });
  return request.catch((error: unknown) => {
    throw error instanceof KubeApiError ? asFieldValidationError(error) : error;
  });
}

export interface OwnerReferenceOptions {
  /** Marks the owner as the managing controller (at most one per object). Default true. */
  controller?: boolean;
  /** The owner cannot be deleted in foreground before this object is. Default true. */
  blockOwnerDeletion?: boolean;
}

/** An owner reference to `owner`, which must have been read from the API (it needs a uid). */
export function ownerReference(owner: NamedObject, options: OwnerReferenceOptions = {}): V1OwnerReference {
  const { apiVersion, kind, metadata } = owner;
  if (!apiVersion || !kind || !metadata?.name || !metadata.uid) {
    throw new InvalidObjectError(
      `an owner needs apiVersion, kind, metadata.name and metadata.uid (got ${apiVersion}/${kind} ${metadata?.name})`,
    );
  }
  return {
    apiVersion,
    kind,
    name: metadata.name,
    uid: metadata.uid,
    controller: options.controller ?? true,
    blockOwnerDeletion: options.blockOwnerDeletion ?? true,
  };
}

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  /** Delete only if the object still has this uid (not a re-created namesake). */
  uid?: string;
  signal?: AbortSignal;
}

/** Deletes the object; resolves false when it did not exist. */
export async function deleteIgnoringNotFound(
  client: KubeClient,
  obj: KubernetesObject,
  options: DeleteOptions = {},
): Promise<boolean> {
  const path = await objectPath(client, obj, undefined, options.signal);
  try {
    await client.request("DELETE", path, {
      body: {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: options.propagationPolicy,
        preconditions: options.uid ? { uid: options.uid } : undefined,
      },
      signal: options.signal,
    });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** The REST path of an object, resolving its kind through discovery. */
export async function objectPath(
  client: KubeClient,
  obj: KubernetesObject,
  subresource?: string,
  signal?: AbortSignal,
): Promise<string> {
  const { apiVersion, kind, metadata } = obj;
  if (!apiVersion || !kind || !metadata?.name) {
    throw new InvalidObjectError(
      `an object needs apiVersion, kind and metadata.name (got ${apiVersion}/${kind} ${metadata?.name})`,
    );
  }
  const mapping = await client.mapper.mapping(apiVersion, kind, signal);
  if (mapping.namespaced && !metadata.namespace) {
    throw new InvalidObjectError(`${kind} ${metadata.name} is namespaced but has no metadata.namespace`);
  }
  return resourcePath(mapping, {
    namespace: mapping.namespaced ? metadata.namespace : undefined,
    name: metadata.name,
    subresource,
  });
}
