/** What the Dispatcher holds for one Delegation it runs. */
import type { Delegation, DelegationStatus } from "../api/delegation.ts";
import type { Backoff } from "../runtime/backoff.ts";
import type { Logger } from "../runtime/log.ts";
import { objectFields } from "../runtime/store.ts";
import type { Span } from "../tracing/spans.ts";
import { statusWithTraceID } from "../tracing/spans.ts";
import type { Clock } from "./clock.ts";
import { creationTime } from "./delegation-object.ts";
import { FencedWrites, type FencedWritesShared } from "./fenced-writes.ts";
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
  /** The attempt's span when tracing is on. */
  span: Span | undefined;
}

/** One Delegation the Dispatcher runs. A class: ten thousand may be queued, and each field counts. */
export class Task implements Schedulable {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly agent: string;
  readonly priority: number;
  readonly created: number;
  /** Pods an attempt failed on (made on the first failure). */
  failedPods: Set<string> | undefined;
  readonly policy: EffectivePolicy;
  /** The status this process means to write next. */
  status: DelegationStatus;
  readonly writes: FencedWrites;
  state: TaskState = "queued";
  /** Between attempts (made on the first retry). */
  backoff: Backoff | undefined;
  attempt: RunningAttempt | undefined;
  deadlineTimer: unknown;
  backoffTimer: unknown;
  queuedTimer: unknown;
  readonly #baseLog: Logger;
  #log: Logger | undefined;

  /** `agent` is "" when none could be chosen. */
  constructor(
    d: Delegation,
    agent: string,
    policy: EffectivePolicy,
    writes: FencedWritesShared,
    log: Logger,
    now: number,
  ) {
    this.uid = d.metadata.uid!;
    this.namespace = d.metadata.namespace ?? "";
    this.name = d.metadata.name ?? "";
    this.agent = agent;
    this.priority = d.spec.priority ?? 0;
    this.created = creationTime(d, now);
    this.policy = policy;
    this.status = statusWithTraceID(d);
    // Pods that earlier attempts (another leader's too) failed on are avoided.
    for (const a of this.status.attempts ?? []) if (a.outcome === "Failed" && a.pod) this.failedOn(a.pod);
    this.#baseLog = log;
    this.writes = new FencedWrites(d, writes, this);
  }

  /** Remembers a pod an attempt failed on. */
  failedOn(pod: string): void {
    this.failedPods ??= new Set();
    this.failedPods.add(pod);
  }

  /** Carries the Delegation's namespace and name; made on first use, as most tasks log nothing. */
  get log(): Logger {
    this.#log ??= this.#baseLog.child(objectFields(this));
    return this.#log;
  }
}

type TimerName = "deadlineTimer" | "backoffTimer" | "queuedTimer";

export function clearTimer(task: Task, which: TimerName, clock: Clock): void {
  if (task[which] !== undefined) clock.clearTimer(task[which]);
  task[which] = undefined;
}

export function clearTimers(task: Task, clock: Clock): void {
  clearTimer(task, "deadlineTimer", clock);
  clearTimer(task, "backoffTimer", clock);
  clearTimer(task, "queuedTimer", clock);
}
