/** What the Dispatcher holds for one Delegation it runs. */
import type { DelegationStatus } from "../api/delegation.ts";
import type { Backoff } from "../runtime/backoff.ts";
import type { Logger } from "../runtime/log.ts";
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
  failedPods: Set<string>;
  policy: EffectivePolicy;
  /** The status this process means to write next. */
  status: DelegationStatus;
  writes: FencedWrites;
  state: TaskState;
  /** Between attempts (made on the first retry). */
  backoff: Backoff | undefined;
  attempt: RunningAttempt | undefined;
  timers: { deadline?: unknown; backoff?: unknown; queued?: unknown };
  /** Carries the Delegation's namespace and name. */
  log: Logger;
}
