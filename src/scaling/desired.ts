/** How many replicas a swarm needs for its delegations, and how fast it may shrink. Pure. */
import { type AgentSpec, MAX_TERMINATION_GRACE_SECONDS, TERMINATION_GRACE_MARGIN_SECONDS } from "../api/agent.ts";

export type Scaling = NonNullable<AgentSpec["scaling"]>;

export interface Demand {
  queued: number;
  inFlight: number;
}

/**
 * desired = clamp(ceil((queued + inFlight) / (maxConcurrentTasks + targetPendingPerReplica)),
 * minReplicas, maxReplicas): one replica runs maxConcurrentTasks delegations and absorbs
 * targetPendingPerReplica queued ones before the swarm grows. Any work with minReplicas 0 still
 * gets one replica (scale from zero).
 */
export function desiredReplicas(s: Scaling, maxConcurrentTasks: number, load: Demand): number {
  const work = load.queued + load.inFlight;
  const needed = Math.ceil(work / (maxConcurrentTasks + s.targetPendingPerReplica));
  return Math.min(s.maxReplicas, Math.max(s.minReplicas, needed, work > 0 ? 1 : 0));
}

interface Sample {
  value: number;
  /** When the next sample replaced this one; undefined while it is the latest. */
  until: number | undefined;
}

/**
 * The largest value of a step function over the last `windowMs`, as a monotonic deque: samples
 * are kept in decreasing value, a newer sample drops every older one it is not smaller than. So
 * memory is O(distinct values), never one entry per event or per second.
 */
export class SlidingWindowMax {
  readonly #deque: Sample[] = [];

  /** Records that the value is `value` from `now` on. */
  push(value: number, now: number): void {
    const last = this.#deque.at(-1);
    if (last && last.until === undefined) last.until = now;
    while (this.#deque.length > 0 && this.#deque.at(-1)!.value <= value) this.#deque.pop();
    this.#deque.push({ value, until: undefined });
  }

  /** The largest value in effect at any time within (now - windowMs, now]; undefined when empty. */
  max(now: number, windowMs: number): number | undefined {
    while (this.#deque.length > 1 && this.#deque[0]!.until! <= now - windowMs) this.#deque.shift();
    return this.#deque[0]?.value;
  }

  /** When max() will next drop, given no new sample; undefined when it cannot. */
  nextDrop(windowMs: number): number | undefined {
    const front = this.#deque[0];
    return this.#deque.length > 1 && front?.until !== undefined ? front.until + windowMs : undefined;
  }

  get size(): number {
    return this.#deque.length;
  }
}

export interface ScaleDecision {
  /** What the load alone asks for. */
  wanted: number;
  /** What to run now: up at once, down only to the window's maximum, never below the busy pods. */
  target: number;
  /** When to look again for a scale-down that the window holds back; undefined when none is pending. */
  recheckAt: number | undefined;
}

/**
 * Scale up at once; scale down only to the largest count wanted during the last
 * scaleDownDelaySeconds, and never below the pods that are executing a delegation.
 */
export function decide(
  window: SlidingWindowMax,
  input: { scaling: Scaling; maxConcurrentTasks: number; load: Demand; current: number; busyPods: number },
  now: number,
): ScaleDecision {
  const { scaling, current } = input;
  const wanted = desiredReplicas(scaling, input.maxConcurrentTasks, input.load);
  const delayMs = scaling.scaleDownDelaySeconds * 1000;
  window.push(wanted, now);
  if (wanted >= current) return { wanted, target: wanted, recheckAt: undefined };
  const held = Math.min(current, window.max(now, delayMs) ?? wanted);
  const target = Math.max(held, Math.min(current, input.busyPods));
  return { wanted, target, recheckAt: target > wanted ? window.nextDrop(delayMs) : undefined };
}

/**
 * The agent pod's terminationGracePeriodSeconds: a turn running on a pod being removed may take
 * timeoutSeconds, plus a margin for the gateway to answer and exit; at least Kubernetes' usual 60 s
 * and at most MAX_TERMINATION_GRACE_SECONDS so a node drain is never held for a day.
 */
export function terminationGraceSeconds(timeoutSeconds: number): number {
  return Math.min(MAX_TERMINATION_GRACE_SECONDS, Math.max(60, timeoutSeconds + TERMINATION_GRACE_MARGIN_SECONDS));
}
