/**
 * Where work waits and where it runs, with no I/O and no timers: a priority queue per agent, the
 * attempts in flight per pod and per agent, and placement on the least-loaded ready pod.
 */
import { keyOf } from "../runtime/store.ts";
import type { PodEndpoint } from "./pod-endpoints.ts";

export interface Schedulable {
  namespace: string;
  name: string;
  agent: string;
  priority: number;
  /** creationTimestamp, epoch ms. */
  created: number;
  /** Pods an earlier attempt failed on: used only when no other pod is ready. */
  failedPods: ReadonlySet<string> | undefined;
}

/** Queue order: priority (highest first), then creationTimestamp, then name. */
function before(a: Schedulable, b: Schedulable): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.created !== b.created) return a.created < b.created;
  return a.name < b.name;
}

/** Adds `value` to the set under `key`, made when absent. */
function addTo<T>(sets: Map<string, Set<T>>, key: string, value: T): void {
  let set = sets.get(key);
  if (!set) {
    set = new Set();
    sets.set(key, set);
  }
  set.add(value);
}

const agentKey = (e: { namespace: string; agent: string }) => keyOf({ namespace: e.namespace, name: e.agent });

export class Scheduler<T extends Schedulable> {
  /** Told the ns/agent whose waiting or running work changed (the autoscaler reacts to it). */
  readonly #changed: (namespace: string, agent: string) => void;
  /** ns/agent → waiting entries in queue order. */
  readonly #queues = new Map<string, T[]>();
  /** ns/agent → entries with an attempt in flight. */
  readonly #running = new Map<string, Set<T>>();
  /** ns/agent → entries between attempts: not in the queue, but waiting all the same. */
  readonly #parked = new Map<string, Set<T>>();
  /** ns/pod → attempts in flight. */
  readonly #podLoad = new Map<string, number>();
  /** ns/agent → turn, to spread ties between equally loaded pods. */
  readonly #turns = new Map<string, number>();

  constructor(changed: (namespace: string, agent: string) => void = () => {}) {
    this.#changed = changed;
  }

  enqueue(entry: T): void {
    const key = agentKey(entry);
    let queue = this.#queues.get(key);
    if (!queue) {
      queue = [];
      this.#queues.set(key, queue);
    }
    // Binary search for the first entry that `entry` goes before.
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(entry, queue[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    queue.splice(lo, 0, entry);
    this.#changed(entry.namespace, entry.agent);
  }

  /** Removes a waiting entry; false when it was not waiting. */
  dequeue(entry: T): boolean {
    const key = agentKey(entry);
    const queue = this.#queues.get(key);
    const index = queue?.indexOf(entry) ?? -1;
    if (index < 0) return false;
    queue!.splice(index, 1);
    if (queue!.length === 0) this.#queues.delete(key);
    this.#changed(entry.namespace, entry.agent);
    return true;
  }

  /** Counts an entry as waiting while it is in no queue (backing off between attempts). */
  park(entry: T): void {
    addTo(this.#parked, agentKey(entry), entry);
    this.#changed(entry.namespace, entry.agent);
  }

  unpark(entry: T): void {
    const key = agentKey(entry);
    const parked = this.#parked.get(key);
    if (!parked?.delete(entry)) return;
    if (parked.size === 0) this.#parked.delete(key);
    this.#changed(entry.namespace, entry.agent);
  }

  /** How many wait ahead of `entry` (0 when it is not waiting). */
  ahead(entry: T): number {
    return Math.max(0, this.#queues.get(agentKey(entry))?.indexOf(entry) ?? 0);
  }

  /** Entries queued or parked. */
  waiting(namespace: string, agent: string): number {
    const key = agentKey({ namespace, agent });
    return (this.#queues.get(key)?.length ?? 0) + (this.#parked.get(key)?.size ?? 0);
  }

  running(namespace: string, agent: string): ReadonlySet<T> {
    return this.#running.get(agentKey({ namespace, agent })) ?? new Set();
  }

  /** Every ns/agent with waiting, parked or running entries. */
  agents(): { namespace: string; agent: string }[] {
    const keys = new Set([...this.#queues.keys(), ...this.#parked.keys(), ...this.#running.keys()]);
    return [...keys].map((key) => {
      const slash = key.indexOf("/");
      return { namespace: key.slice(0, slash), agent: key.slice(slash + 1) };
    });
  }

  /**
   * Starts waiting entries of one agent, in queue order, while a ready pod has a free slot and
   * `canStart()` agrees. `start` gets each entry with its pod; when it returns false the entry was
   * not started after all (it took no slot).
   */
  place(
    namespace: string,
    agent: string,
    pods: readonly PodEndpoint[],
    slotsPerPod: number,
    canStart: () => boolean,
    start: (entry: T, pod: PodEndpoint) => boolean,
  ): void {
    const key = agentKey({ namespace, agent });
    const queue = this.#queues.get(key);
    if (!queue?.length || pods.length === 0) return;
    let i = 0;
    const before = queue.length;
    while (i < queue.length && canStart()) {
      const free = pods.filter((p) => this.#inFlight(namespace, p.pod) < slotsPerPod);
      if (free.length === 0) break;
      const entry = queue[i]!;
      let pool = free.filter((p) => !entry.failedPods?.has(p.pod));
      if (pool.length === 0) {
        // Pods this entry failed on are used only when no other ready pod exists.
        if (pods.some((p) => !entry.failedPods?.has(p.pod))) {
          i++;
          continue;
        }
        pool = free;
      }
      queue.splice(i, 1);
      const pod = this.#leastLoaded(key, namespace, pool);
      this.#occupy(entry, pod.pod);
      if (!start(entry, pod)) this.release(entry, pod.pod);
    }
    if (queue.length === 0) this.#queues.delete(key);
    if (queue.length !== before) this.#changed(namespace, agent);
  }

  /** Attempts in flight on one pod. */
  inFlightOn(namespace: string, pod: string): number {
    return this.#inFlight(namespace, pod);
  }

  /** The attempt of `entry` on `pod` ended: its slot is free. */
  release(entry: T, pod: string): void {
    const key = agentKey(entry);
    const podKey = keyOf({ namespace: entry.namespace, name: pod });
    const n = (this.#podLoad.get(podKey) ?? 0) - 1;
    if (n <= 0) this.#podLoad.delete(podKey);
    else this.#podLoad.set(podKey, n);
    const running = this.#running.get(key);
    running?.delete(entry);
    if (running?.size === 0) this.#running.delete(key);
    this.#changed(entry.namespace, entry.agent);
  }

  clear(): void {
    this.#queues.clear();
    this.#parked.clear();
    this.#running.clear();
    this.#podLoad.clear();
  }

  #occupy(entry: T, pod: string): void {
    const podKey = keyOf({ namespace: entry.namespace, name: pod });
    this.#podLoad.set(podKey, (this.#podLoad.get(podKey) ?? 0) + 1);
    addTo(this.#running, agentKey(entry), entry);
  }

  #inFlight(namespace: string, pod: string): number {
    return this.#podLoad.get(keyOf({ namespace, name: pod })) ?? 0;
  }

  #leastLoaded(key: string, namespace: string, pool: readonly PodEndpoint[]): PodEndpoint {
    let min = Number.POSITIVE_INFINITY;
    let best: PodEndpoint[] = [];
    for (const p of pool) {
      const n = this.#inFlight(namespace, p.pod);
      if (n < min) {
        min = n;
        best = [p];
      } else if (n === min) best.push(p);
    }
    const turn = this.#turns.get(key) ?? 0;
    this.#turns.set(key, turn + 1);
    return best[turn % best.length]!;
  }
}
