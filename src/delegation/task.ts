/** What the Dispatcher holds for one Delegation it runs. */
import type { Delegation, DelegationStatus } from "../api/delegation.ts";
import type { Backoff } from "../runtime/backoff.ts";
import type { Logger } from "../runtime/log.ts";
import type { Clock } from "./clock.ts";
import { creationTime } from "./delegation-object.ts";
import type { FencedWrites } from "./fenced-writes.ts";
import type { EffectivePolicy } from "./policy.ts";
import type { Schedulable } from "./scheduler.ts";

/**
 * queued: waiting in its agent's queue; running: an attempt is in flight; backoff: between
 * attempts, or claiming a recovered object; finishing: its terminal write is under way.
 */
export type TaskState = "queued" | "running" | "backoff" | "finishing" | "done";

export interface RunningAttempt {
  id: string;
  pod: string;
  controller: AbortController;
  runningTimer: unknown;
}

export interface Task extends Schedulable {
  uid: string;
  /** Pods an attempt failed on (made on the first failure). */
  failedPods: Set<string> | undefined;
  policy: EffectivePolicy;
  /** The status this process means to write next. */
  status: DelegationStatus;
  writes: FencedWrites;
  state: TaskState;
  /** Between attempts (made on the first retry). */
  backoff: Backoff | undefined;
  attempt: RunningAttempt | undefined;
  timers: { deadline?: unknown; backoff?: unknown; queued?: unknown };
  /** Carries the Delegation's namespace and name (made on first use: most tasks log nothing). */
  readonly log: Logger;
}

export function clearTimer(task: Task, which: keyof Task["timers"], clock: Clock): void {
  if (task.timers[which] !== undefined) clock.clearTimer(task.timers[which]);
  task.timers[which] = undefined;
}

export function clearTimers(task: Task, clock: Clock): void {
  clearTimer(task, "deadline", clock);
  clearTimer(task, "backoff", clock);
  clearTimer(task, "queued", clock);
}

/** A new task for a Delegation from the cache, going to `agent` ("" when none could be chosen). */
export function newTask(
  d: Delegation,
  agent: string,
  policy: EffectivePolicy,
  writes: FencedWrites,
  log: () => Logger,
  now: number,
): Task {
  const status = d.status ?? {};
  let failedPods: Set<string> | undefined;
  // Pods that earlier attempts (another leader's too) failed on are avoided.
  for (const a of status.attempts ?? []) {
    if (a.outcome === "Failed" && a.pod) (failedPods ??= new Set()).add(a.pod);
  }
  return {
    uid: d.metadata.uid!,
    namespace: d.metadata.namespace ?? "",
    name: d.metadata.name ?? "",
    agent,
    priority: d.spec.priority ?? 0,
    created: creationTime(d, now),
    failedPods,
    policy,
    status,
    writes,
    state: "queued",
    backoff: undefined,
    attempt: undefined,
    timers: {},
    get log() {
      return log();
    },
  };
}
