/** How many replicas a swarm needs for its pending delegations. Pure. */
import type { AgentSpec } from "../api/agent.ts";

export type Scaling = NonNullable<AgentSpec["scaling"]>;

/**
 * One replica works on maxConcurrentTasks delegations and absorbs targetPendingPerReplica queued
 * ones before the swarm grows. Queued work with minReplicas 0 still gets one replica.
 */
export function desiredReplicas(
  s: Scaling,
  maxConcurrentTasks: number,
  load: { queued: number; inFlight: number },
): number {
  const work = load.queued + load.inFlight;
  const needed = Math.ceil(work / (maxConcurrentTasks + s.targetPendingPerReplica));
  return Math.min(s.maxReplicas, Math.max(s.minReplicas, needed, work > 0 ? 1 : 0));
}

/**
 * Scale up at once; scale down only to the largest value wanted during the last delay, so a
 * short lull does not drop replicas that are needed again a moment later.
 */
export class ScaleDownWindow {
  readonly #history = new Map<string, { at: number; replicas: number }[]>();

  /** The replica count to run now for `key`, given what is running and what is wanted now. */
  target(key: string, current: number, wanted: number, now: number, delayMs: number): number {
    let history = this.#history.get(key);
    if (!history) {
      // A new leader has seen no history: it keeps the current count for a full window.
      history = [{ at: now, replicas: current }];
      this.#history.set(key, history);
    }
    history.push({ at: now, replicas: wanted });
    while (history.length > 1 && history[0]!.at < now - delayMs) history.shift();
    if (wanted >= current) return wanted;
    return Math.min(current, Math.max(...history.map((h) => h.replicas)));
  }

  /** Drops the history of every key not in `keys`: agents deleted or no longer scaled by the operator. */
  retainOnly(keys: ReadonlySet<string>): void {
    for (const key of this.#history.keys()) if (!keys.has(key)) this.#history.delete(key);
  }
}
