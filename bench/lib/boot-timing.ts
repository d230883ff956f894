/**
 * Create → Ready of one workload on the real node, timed from watch events: when its first pod
 * appeared, when that pod turned Ready, and (for an Agent) when the Agent's Ready condition did.
 */
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import type { TimedWatch, WaitOptions } from "./watch.ts";

export interface BootTimes {
  /** create → the first pod exists (the operator's objects, the ReplicaSet, the scheduler). */
  toPodMs: number;
  /** pod exists → pod Ready (sandbox, CNI, image, init container, OpenClaw's start, the readiness probe). */
  podToReadyMs: number;
  /** pod Ready → the Agent's Ready condition (0 for a plain Deployment). */
  readyToStatusMs: number;
  totalMs: number;
}

type Conditioned = KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } };

export const conditionTrue = (obj: Conditioned, type = "Ready") =>
  obj.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;

/** Resolves with the name and arrival time of the first pod event whose labels hold `label=value`. */
export function firstPod(pods: TimedWatch<V1Pod>, label: string, value: string, options: WaitOptions) {
  return new Promise<{ name: string; at: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no pod with ${label}=${value} after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const off = pods.on((type, pod, at) => {
      if (type === "DELETED" || pod.metadata?.labels?.[label] !== value) return;
      clearTimeout(timer);
      off();
      resolve({ name: pod.metadata.name ?? "", at });
    });
  });
}

/**
 * Times one start: `create` runs at t0; the first pod carrying `label=value` is followed to Ready,
 * then `statusReady` (the Agent's condition), if given, is awaited too.
 */
export async function timeBoot(
  pods: TimedWatch<V1Pod>,
  selector: { label: string; value: string },
  create: () => Promise<unknown>,
  options: WaitOptions,
  statusReady?: Promise<number>,
): Promise<BootTimes> {
  const pod = firstPod(pods, selector.label, selector.value, options);
  const t0 = performance.now();
  await create();
  const { name, at: podAt } = await pod;
  const readyAt = await pods.when(name, (p) => conditionTrue(p), { ...options, what: `pod ${name} Ready` });
  const statusAt = statusReady ? await statusReady : readyAt;
  return {
    toPodMs: podAt - t0,
    podToReadyMs: readyAt - podAt,
    readyToStatusMs: Math.max(0, statusAt - readyAt),
    totalMs: Math.max(statusAt, readyAt) - t0,
  };
}
