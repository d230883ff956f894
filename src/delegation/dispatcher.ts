/**
 * Runs Delegations on the leader. The reconciler is its only caller: `submit` a Delegation from
 * the cache, `cancel` it, `forget` it when it is gone or finished. Tasks wait on the Scheduler,
 * the TaskRunner moves them through attempts, and the Committer writes what status.ts says each
 * change is. Nothing here waits inside a reconcile.
 */
import type { Delegation } from "../api/delegation.ts";
import { defaultLogger, type Logger } from "../runtime/log.ts";
import { keyOf } from "../runtime/store.ts";
import type { AbortReason } from "./attempt.ts";
import { type Clock, realClock } from "./clock.ts";
import { Committer } from "./commit.ts";
import { isTerminal } from "./delegation-object.ts";
import type { Admission, AgentLoad, DispatcherDeps, SubmitResult } from "./dispatcher-deps.ts";
import type { FencedWritesShared } from "./fenced-writes.ts";
import { Scheduler } from "./scheduler.ts";
import { cancelled, failed, hasRunningAttempt } from "./status.ts";
import { clearTimers, Task } from "./task.ts";
import { TaskRunner } from "./task-runner.ts";

/** After a task was dropped (another writer took it), it is not recovered again for this long. */
const DEFAULT_RECOVERY_GRACE_MS = 15_000;

export class Dispatcher {
  readonly #deps: DispatcherDeps;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** uid → task. */
  readonly #tasks = new Map<string, Task>();
  /** ns/name → task, to forget a Delegation that is gone. */
  readonly #byName = new Map<string, Task>();
  readonly #scheduler = new Scheduler<Task>();
  readonly #committer: Committer;
  readonly #runner: TaskRunner;
  readonly #writesShared: FencedWritesShared;
  readonly #unsubscribe: (() => void)[];
  /** Aborted by stop(): every request in flight ends, and nothing more is written. */
  readonly #stopping = new AbortController();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? realClock;
    this.#log = (deps.logger ?? defaultLogger).child({ component: "dispatcher" });
    this.#writesShared = {
      writer: deps.writer,
      clock: this.#clock,
      terminalWriteMaxBackoffMs: deps.terminalWriteMaxBackoffMs ?? 30_000,
      stopping: this.#stopping.signal,
      cached: deps.cached,
    };
    this.#committer = new Committer({
      deps,
      clock: this.#clock,
      scheduler: this.#scheduler,
      stopped: () => this.#stopping.signal.aborted,
      untrack: (task) => this.#untrack(task),
      resume: () => this.#runner.pumpAll(),
    });
    this.#runner = new TaskRunner({
      deps,
      clock: this.#clock,
      scheduler: this.#scheduler,
      committer: this.#committer,
      stopping: this.#stopping.signal,
    });
    this.#unsubscribe = [
      deps.endpoints.onChange((ns, agent) => this.#runner.endpointsChanged(ns, agent)),
      deps.agents.onChange((ns, agent) => this.#runner.pump(ns, agent)),
    ];
  }

  /**
   * Takes a Delegation from the cache. A new one is admitted (`admit`), then queued; one a task
   * holds refreshes that task's copy. Refused when it is terminal, when its cache copy is older
   * than our terminal write, or when the dispatcher stopped.
   */
  submit(d: Delegation, admit: () => Admission = () => ({ admitted: true })): SubmitResult {
    const uid = d.metadata.uid;
    const { recent } = this.#deps;
    if (this.#stopping.signal.aborted || !uid || isTerminal(d) || recent.isFinished(uid)) return { accepted: false };
    const held = this.#tasks.get(uid);
    if (held) {
      // The cache's copy of the version we wrote last replaces ours: one copy, not two.
      if (d.metadata.resourceVersion === held.writes.known.metadata.resourceVersion) held.writes.known = d;
      return { accepted: true };
    }
    const droppedAt = recent.droppedAt(uid);
    if (droppedAt !== undefined) {
      const left = droppedAt + (this.#deps.recoveryGraceMs ?? DEFAULT_RECOVERY_GRACE_MS) - this.#clock.now();
      if (left > 0) return { accepted: false, retryAfterMs: left };
      recent.forgetDropped(uid);
    }
    const admission = admit();
    if (!admission.admitted && "retryAfterMs" in admission) {
      return { accepted: false, retryAfterMs: admission.retryAfterMs };
    }
    const ns = d.metadata.namespace ?? "";
    const candidates = admission.admitted ? (admission.candidates ?? []) : [];
    const agent = d.status?.agent ?? d.spec.to ?? this.#chooseAgent(ns, candidates) ?? "";
    const task = this.#newTask(d, agent);
    this.#tasks.set(uid, task);
    this.#byName.set(keyOf(task), task);
    if (!admission.admitted) void this.#committer.finish(task, admission.ending);
    else if (!agent) {
      void this.#committer.finish(task, failed("AgentUnavailable", "no agent of the team can take this Delegation"));
    } else if (this.#deps.agents.slots(ns, agent) === undefined) {
      void this.#committer.finish(task, failed("AgentUnavailable", `Agent ${agent} not found`));
    } else {
      this.#runner.run(task, hasRunningAttempt(d.status));
    }
    return { accepted: true };
  }

  /**
   * Cancels a Delegation. `record: true` (the cancel annotation) writes Failed/Cancelled; false
   * writes nothing. Returns false when no task holds it (or it is already finishing).
   */
  cancel(uid: string, options: { record: boolean; message?: string | undefined }): boolean {
    const task = this.#tasks.get(uid);
    if (!task || task.state === "done" || task.state === "finishing") return false;
    const { record, message } = options;
    if (task.state === "running" && task.attempt) {
      task.attempt.controller.abort({ kind: "cancel", record, message } satisfies AbortReason);
    } else if (record) void this.#committer.finish(task, cancelled(message));
    else this.#committer.discard(task);
    return true;
  }

  /**
   * The Delegation is gone (no uid), or the cache shows it finished (its uid): end its task
   * without writing, and forget what was remembered of it.
   */
  forget(namespace: string, name: string, uid?: string): void {
    const task = uid ? this.#tasks.get(uid) : this.#byName.get(keyOf({ namespace, name }));
    if (task) this.cancel(task.uid, { record: false });
    this.#deps.recent.forget(namespace, name, uid);
  }

  /** True while a task for this uid lives here (queued, running, backing off or writing). */
  has(uid: string): boolean {
    return this.#tasks.has(uid);
  }

  load(namespace: string, agent: string): AgentLoad {
    const ready = this.#deps.endpoints.readyPods(namespace, agent).length;
    const slots = this.#deps.agents.slots(namespace, agent) ?? 0;
    return {
      queued: this.#scheduler.waiting(namespace, agent),
      inFlight: this.#scheduler.running(namespace, agent).size,
      readyPods: ready,
      capacity: ready * slots,
    };
  }

  /** Every ns/agent with queued or running work, for metrics. */
  loads(): { namespace: string; agent: string; load: AgentLoad }[] {
    return this.#scheduler.agents().map((a) => ({ ...a, load: this.load(a.namespace, a.agent) }));
  }

  /**
   * Lost leadership or shutdown: aborts every request (each run is cancelled on its worker) and
   * writes nothing more. Resolves once writes already on the wire have ended.
   */
  async stop(): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    this.#stopping.abort({ kind: "stop" } satisfies AbortReason);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    const writes: Promise<unknown>[] = [];
    for (const task of this.#tasks.values()) {
      clearTimers(task, this.#clock);
      task.state = "done";
      writes.push(task.writes.settled);
    }
    this.#tasks.clear();
    this.#byName.clear();
    this.#scheduler.clear();
    await Promise.allSettled(writes);
  }

  #newTask(d: Delegation, agent: string): Task {
    const policy = this.#deps.policy(d, agent || undefined);
    return new Task(d, agent, policy, this.#writesShared, this.#log, this.#clock.now());
  }

  #untrack(task: Task): void {
    if (this.#tasks.get(task.uid) === task) this.#tasks.delete(task.uid);
    if (this.#byName.get(keyOf(task)) === task) this.#byName.delete(keyOf(task));
  }

  /** Among capability candidates, the agent with the most free capacity (queued work counts). */
  #chooseAgent(namespace: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestFree = Number.NEGATIVE_INFINITY;
    for (const agent of candidates) {
      if (this.#deps.agents.slots(namespace, agent) === undefined) continue;
      const l = this.load(namespace, agent);
      const free = l.capacity - l.inFlight - l.queued;
      if (free > bestFree) {
        best = agent;
        bestFree = free;
      }
    }
    return best ?? candidates[0];
  }
}
