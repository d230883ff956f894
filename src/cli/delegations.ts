/** Reading Delegations: the whole result (inline or in its ConfigMap) and a watch until one finishes. */
import { createInterface } from "node:readline";
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import { isTerminal } from "../delegation/delegation-object.ts";
import { isGone } from "../runtime/errors.ts";
import { CliError } from "./errors.ts";
import { type Cluster, GVR } from "./kube.ts";

export function getDelegation(cluster: Cluster, name: string): Promise<Delegation> {
  return cluster.getNamed<Delegation>(GVR.delegations, "Delegation", name);
}

/**
 * The whole result: status.result holds it unless it was too long, then status.resultRef names the
 * ConfigMap key with all of it (src/delegation/result.ts).
 */
export async function resultOf(cluster: Cluster, d: Delegation): Promise<string | undefined> {
  const ref = d.status?.resultRef;
  if (!ref) return d.status?.result;
  const cm = await cluster.client.getIfExists<V1ConfigMap>(cluster.path(GVR.configmaps, ref.name));
  const text = cm?.data?.[ref.key];
  if (text === undefined) {
    throw new CliError(`Delegation ${d.metadata.name}: result ConfigMap ${ref.name} (key ${ref.key}) is missing`);
  }
  return text;
}

/**
 * Calls `onChange` with each new version of the Delegation until it finishes, and returns that
 * version. A watch the server ends (its timeout, or 410 Gone) is opened again from a fresh GET.
 */
export async function watchUntilFinished(
  cluster: Cluster,
  name: string,
  onChange: (d: Delegation) => void,
  signal: AbortSignal,
): Promise<Delegation> {
  for (;;) {
    signal.throwIfAborted();
    const current = await getDelegation(cluster, name);
    onChange(current);
    if (isTerminal(current)) return current;
    try {
      const stream = await cluster.client.watch(
        cluster.path(GVR.delegations),
        { fieldSelector: `metadata.name=${name}`, resourceVersion: current.metadata.resourceVersion },
        signal,
      );
      for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { type: string; object: Delegation };
        if (event.type === "DELETED") throw new CliError(`Delegation ${name} was deleted before it finished`);
        if (event.type === "ERROR") break; // typically 410 Gone: start over from a GET
        if (event.type !== "ADDED" && event.type !== "MODIFIED") continue;
        onChange(event.object);
        if (isTerminal(event.object)) {
          stream.destroy();
          return event.object;
        }
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (!isGone(error) && !(error instanceof Error && error.name === "AbortError")) throw error;
    }
  }
}
