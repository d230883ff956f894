/**
 * What the Delegations informer keeps of a finished Delegation. Finished ones stay in the cache until
 * their TTL (a day by default) and can be most of it, so the cache keeps a summary: everything but
 * `spec.context`, `status.result`, `status.attempts` and `status.conditions`, with `spec.task` cut to
 * its first SUMMARY_TASK_CHARS characters. Code that needs those of a finished Delegation reads it from
 * the API (`DelegationReader`).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import type { KubeClient } from "../runtime/client.ts";
import { delegationPath, isTerminal } from "./delegation-object.ts";

/** How much of a finished Delegation's task (up to 64 KiB) its summary keeps. */
export const SUMMARY_TASK_CHARS = 256;

/** The informer transform: a finished Delegation becomes its summary; others pass unchanged. */
export function summarizeFinished<T extends KubernetesObject>(obj: T): T {
  const d = obj as unknown as Delegation;
  if (!isTerminal(d)) return obj;
  const { context: _context, ...spec } = d.spec ?? {};
  if (spec.task?.length > SUMMARY_TASK_CHARS) spec.task = `${spec.task.slice(0, SUMMARY_TASK_CHARS)}…`;
  const { result: _result, attempts: _attempts, conditions: _conditions, ...status } = d.status ?? {};
  return { ...obj, spec, status };
}

/** Reads one Delegation from the API; undefined when it does not exist. */
export type DelegationReader = (
  namespace: string,
  name: string,
  signal?: AbortSignal,
) => Promise<Delegation | undefined>;

export function delegationReader(client: KubeClient): DelegationReader {
  return (namespace, name, signal) =>
    client.getIfExists<Delegation>(delegationPath(namespace, name), { ...(signal && { signal }) });
}
