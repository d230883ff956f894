/**
 * Runs Delegations on the leader. The reconciler is its only caller: `submit` a Delegation from
 * the cache, `cancel` it, `forget` it when it is gone or finished. The Dispatcher queues it on the
 * Scheduler, runs attempts on pods (attempt.ts), and writes each change of status through
 * FencedWrites (status.ts says what the change is). It never waits inside a reconcile.
 *
 * A Running Delegation that no task here holds was left by a previous leader: its attempt is
 * written Interrupted before another runs.
 */
import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import { Backoff, type BackoffOptions } from "../runtime/backoff.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { defaultLogger, errorFields, type Logger } from "../runtime/log.ts";
import { keyOf, objectFields } from "../runtime/store.ts";
import { type AbortReason, type DeliveryDeps, deliver, judge, type Verdict } from "./attempt.ts";
import { type Clock, realClock } from "./clock.ts";
import { creationTime, isTerminal } from "./common.ts";
import { FencedWrites, type WriteKind } from "./fenced-writes.ts";
import type { PodEndpoint } from "./pod-endpoints.ts";
import type { EffectivePolicy } from "./policy.ts";
import type { RecentWrites } from "./recent-writes.ts";
import { type ResultStore, storeAnswer } from "./result.ts";
import { Scheduler } from "./scheduler.ts";
import * as transition from "./status.ts";
import type { StatusWriter } from "./status-writer.ts";
import type { RunningAttempt, Task } from "./task.ts";
import type { ChatResult } from "./transport.ts";
import type { WaiterRegistry } from "./waiters.ts";

export const DEFAULT_RUNNING_DELAY_MS = 250;

/** The slots of each Agent (`spec.maxConcurrentTasks`), and a signal when they change. */
export interface AgentSlots {
  /** Undefined when the Agent does not exist. */
  slots(namespace: string, agent: string): number | undefined;
  onChange(callback: (namespace: string, agent: string) => void): () => void;
}

export interface DispatcherDeps extends DeliveryDeps {
  agents: AgentSlots;
  /** Limits and deadline of a Delegation (its team's policy applied). */
  policy: (d: Delegation, agent: string | undefined) => EffectivePolicy;
  writer: StatusWriter;
  results: ResultStore;
  recent: RecentWrites;
  waiters?: WaiterRegistry | undefined;
  events?: EventRecorder | undefined;
  /** Asks the reconciler to look at a Delegation again after `afterMs`. */
  requeue?: ((namespace: string, name: string, afterMs: number) => void) | undefined;
  clock?: Clock;
  /** The Running write happens only if an attempt is still in flight after this long. Default 250 ms. */
  runningDelayMs?: number;
  /** A queued Delegation gets one Pending/Queued write after waiting this long. Default 5 s. */
  queuedWriteDelayMs?: number;
  /** Between attempts. Default 1 s doubling to 30 s, jitter 0.5. */
  backoff?: BackoffOptions;
  /** After a task was dropped (another writer took it), it is not recovered again for this long. Default 15 s. */
  recoveryGraceMs?: number;
  /** Terminal writes that fail (not conflicts) are retried this many times. Default 4. */
  terminalWriteRetries?: number;
  /**
   * No attempt starts while this many finished tasks wait for their terminal write (the API server
   * is the bottleneck): results do not pile up in memory, and a priority Delegation's write waits
   * behind at most this many. Default 8, the status writer's concurrency.
   */
  maxPendingTerminalWrites?: number;
  randomId?: () => string;
  logger?: Logger;
}

/** The reconciler's admission of a new Delegation, asked only when no task holds it yet. */
export type Admission =
  | { admitted: true; candidates?: string[] | undefined }
  | { admitted: false; ending: transition.Ending }
  | { admitted: false; retryAfterMs: number };

export interface SubmitResult {
  accepted: boolean;
  /** Not accepted now; submit again after this long. */
  retryAfterMs?: number;
}

export interface AgentLoad {
  queued: number;
  inFlight: number;
  readyPods: number;
  /** readyPods × maxConcurrentTasks. */
  capacity: number;
}

const randomId = () => randomBytes(8).toString("hex");

export class Dispatcher {
  readonly #deps: DispatcherDeps;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** uid → task. */
  readonly #tasks = new Map<string, Task>();
  /** ns/name → task, to forget a Delegation that is gone. */
  readonly #byName = new Map<string, Task>();
  readonly #scheduler = new Scheduler<Task>();
  readonly #unsubscribe: (() => void)[] = [];
  /** Tasks waiting for their terminal write. */
  #pendingTerminalWrites = 0;
  #stopped = false;
  /** Aborted by stop(): every request in flight ends. */
  readonly #stopping = new AbortController();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? realClock;
    this.#log = (deps.logger ?? defaultLogger).child({ component: "dispatcher" });
    this.#unsubscribe.push(
      deps.endpoints.onChange((ns, agent) => this.#endpointsChanged(ns, agent)),
      deps.agents.onChange((ns, agent) => this.#pump(ns, agent)),
    );
  }

  /**
   * Takes a Delegation from the cache. A new one is admitted (`admit`), then queued; one a task
   * holds refreshes that task's copy. Refused when it is terminal, when its cache copy is older
   * than our terminal write, or when the dispatcher stopped.
   */
  submit(d: Delegation, admit: () => Admission = () => ({ admitted: true })): SubmitResult {
    const uid = d.metadata.uid;
    if (this.#stopped || !uid || isTerminal(d) || this.#deps.recent.isFinished(uid)) {
      return { accepted: false };
    }
    const held = this.#tasks.get(uid);
    if (held) {
      // The cache's copy of the version we wrote last replaces ours: one copy, not two.
      if (d.metadata.resourceVersion === held.writes.known.metadata.resourceVersion) held.writes.known = d;
      return { accepted: true };
    }
    const droppedAt = this.#deps.recent.droppedAt(uid);
    if (droppedAt !== undefined) {
      const left = droppedAt + (this.#deps.recoveryGraceMs ?? 15_000) - this.#clock.now();
      if (left > 0) return { accepted: false, retryAfterMs: left };
      this.#deps.recent.forgetDropped(uid);
    }
    const admission = admit();
    if (!admission.admitted && "retryAfterMs" in admission) {
      return { accepted: false, retryAfterMs: admission.retryAfterMs };
    }
    const ns = d.metadata.namespace ?? "";
    const candidates = admission.admitted ? (admission.candidates ?? []) : [];
    const agent = d.status?.agent ?? d.spec.to ?? this.#chooseAgent(ns, candidates) ?? "";
    const task = this.#newTask(d, agent);
    this.#track(task);
    if (!admission.admitted) void this.#finish(task, admission.ending);
    else if (!agent)
      void this.#finish(task, transition.failed("AgentUnavailable", "no agent of the team can take this Delegation"));
    else if (this.#deps.agents.slots(ns, agent) === undefined) {
      void this.#finish(task, transition.failed("AgentUnavailable", `Agent ${agent} not found`));
    } else {
      task.timers.deadline = this.#clock.setTimer(
        () => this.#deadlineReached(task),
        task.policy.deadline.getTime() - this.#clock.now(),
      );
      if (transition.hasRunningAttempt(d.status)) this.#recover(task);
      else this.#enqueue(task);
    }
    return { accepted: true };
  }

  /**
   * Cancels a Delegation. `record: true` (the cancel annotation) writes Failed/Cancelled; false
   * writes nothing. Returns false when no task holds it (or it is already finishing).
   */
  cancel(uid: string, options: { record: boolean }): boolean {
    const task = this.#tasks.get(uid);
    if (!task || task.state === "done" || task.state === "finishing") return false;
    if (task.state === "running" && task.attempt) {
      task.attempt.controller.abort({ kind: "cancel", record: options.record } satisfies AbortReason);
    } else if (options.record) void this.#finish(task, transition.cancelled());
    else this.#discard(task);
    return true;
  }

  /**
   * The Delegation is gone (no uid), or the cache shows it finished (its uid): end its task
   * without writing, and forget what was remembered of it.
   */
  forget(namespace: string, name: string, uid?: string): void {
    const task = uid ? this.#tasks.get(uid) : this.#taskByName(namespace, name);
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
    if (this.#stopped) return;
    this.#stopped = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#stopping.abort({ kind: "stop" } satisfies AbortReason);
    const writes: Promise<unknown>[] = [];
    for (const task of this.#tasks.values()) {
      this.#clearTimers(task);
      task.state = "done";
      writes.push(task.writes.settled);
    }
    this.#tasks.clear();
    this.#byName.clear();
    this.#scheduler.clear();
    await Promise.allSettled(writes);
  }

  #newTask(d: Delegation, agent: string): Task {
    const namespace = d.metadata.namespace ?? "";
    const name = d.metadata.name ?? "";
    const log = this.#log.child(objectFields({ namespace, name }));
    const status = d.status ?? {};
    const failedPods = new Set<string>();
    // Pods that earlier attempts (another leader's too) failed on are avoided.
    for (const a of status.attempts ?? []) if (a.outcome === "Failed" && a.pod) failedPods.add(a.pod);
    return {
      uid: d.metadata.uid!,
      namespace,
      name,
      agent,
      priority: d.spec.priority ?? 0,
      created: creationTime(d, this.#clock.now()),
      failedPods,
      policy: this.#deps.policy(d, agent || undefined),
      status,
      writes: new FencedWrites(d, {
        writer: this.#deps.writer,
        clock: this.#clock,
        logger: log,
        terminalWriteRetries: this.#deps.terminalWriteRetries ?? 4,
        stopped: () => this.#stopped,
      }),
      state: "queued",
      backoff: undefined,
      attempt: undefined,
      timers: {},
      log,
    };
  }

  #taskByName(namespace: string, name: string): Task | undefined {
    return this.#byName.get(keyOf({ namespace, name }));
  }

  #track(task: Task): void {
    this.#tasks.set(task.uid, task);
    this.#byName.set(keyOf(task), task);
  }

  #untrack(task: Task): void {
    if (this.#tasks.get(task.uid) === task) this.#tasks.delete(task.uid);
    if (this.#byName.get(keyOf(task)) === task) this.#byName.delete(keyOf(task));
  }

  /** Another process ran this attempt and is gone: claim the object before running it again. */
  #recover(task: Task): void {
    task.status = transition.interrupted(task.status, new Date(this.#clock.now()));
    task.state = "backoff"; // in no queue until the claim is written
    this.#scheduler.park(task);
    void this.#write(task, "progress").then((ok) => {
      if (ok && task.state === "backoff") this.#enqueue(task);
    });
  }

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

  #enqueue(task: Task): void {
    if (this.#stopped || task.state === "done" || task.state === "finishing") return;
    this.#scheduler.unpark(task);
    task.state = "queued";
    this.#scheduler.enqueue(task);
    if (!task.status.phase && task.timers.queued === undefined) {
      task.timers.queued = this.#clock.setTimer(() => this.#queuedTooLong(task), this.#deps.queuedWriteDelayMs ?? 5000);
    }
    this.#pump(task.namespace, task.agent);
  }

  /** Starts queued tasks of one agent while its pods have free slots. */
  #pump(namespace: string, agent: string): void {
    if (this.#stopped) return;
    const slots = this.#deps.agents.slots(namespace, agent);
    if (slots === undefined) return;
    const max = this.#deps.maxPendingTerminalWrites ?? 8;
    this.#scheduler.place(
      namespace,
      agent,
      this.#deps.endpoints.readyPods(namespace, agent),
      slots,
      () => this.#pendingTerminalWrites < max,
      (task, pod) => this.#start(task, pod),
    );
  }

  #pumpAll(): void {
    for (const { namespace, agent } of this.#scheduler.agents()) this.#pump(namespace, agent);
  }

  /** Starts an attempt on `pod`; false when the Delegation has no attempts left (it is failing). */
  #start(task: Task, pod: PodEndpoint): boolean {
    this.#clearTimer(task, "queued");
    const id = (this.#deps.randomId ?? randomId)();
    const now = new Date(this.#clock.now());
    const started = transition.attemptStarted(task.status, { id, agent: task.agent, pod: pod.pod, podIP: pod.ip, now });
    if (!started) {
      const count = task.status.attempts?.length ?? 0;
      void this.#finish(task, transition.failed("AgentUnavailable", `too many attempts (${count})`));
      return false;
    }
    task.status = started;
    task.writes.own(id);
    task.state = "running";
    const controller = new AbortController();
    const attempt: RunningAttempt = { id, pod: pod.pod, controller, runningTimer: undefined };
    task.attempt = attempt;
    attempt.runningTimer = this.#clock.setTimer(
      () => this.#writeRunning(task, attempt.id),
      this.#deps.runningDelayMs ?? DEFAULT_RUNNING_DELAY_MS,
    );
    const signal = AbortSignal.any([this.#stopping.signal, controller.signal]);
    deliver(this.#deps, task.writes.known, task.agent, pod, signal).then(
      (result) => this.#attemptEnded(task, attempt, { result }),
      (error: unknown) => this.#attemptEnded(task, attempt, { error }),
    );
    return true;
  }

  #attemptEnded(task: Task, attempt: RunningAttempt, settled: { result: ChatResult } | { error: unknown }): void {
    this.#clock.clearTimer(attempt.runningTimer);
    this.#scheduler.release(task, attempt.pod);
    try {
      if (task.attempt !== attempt) return;
      task.attempt = undefined;
      if (this.#stopped || task.state !== "running") return;
      const aborted = attempt.controller.signal.aborted ? (attempt.controller.signal.reason as AbortReason) : undefined;
      this.#act(task, attempt.id, attempt.pod, judge(settled, aborted, attempt.pod));
    } finally {
      this.#pump(task.namespace, task.agent);
    }
  }

  #act(task: Task, attemptId: string, pod: string, verdict: Verdict): void {
    const now = new Date(this.#clock.now());
    const end = (outcome: "Succeeded" | "Failed", reason?: string, message?: string) => {
      task.status = transition.attemptEnded(task.status, attemptId, outcome, now, reason, message);
    };
    switch (verdict.kind) {
      case "answered":
        end("Succeeded");
        void this.#finish(task, { phase: "Succeeded", reason: "Completed" }, { result: verdict.result, attemptId });
        return;
      case "cancelled":
        end("Failed", "Cancelled", "cancelled");
        if (verdict.record) void this.#finish(task, transition.cancelled());
        else this.#discard(task);
        return;
      case "timedOut": {
        const message = `timed out after ${Math.round(task.policy.timeoutMs / 1000)} s`;
        end("Failed", "TimedOut", message);
        void this.#finish(task, transition.failed("TimedOut", message));
        return;
      }
      case "failed":
        end("Failed", verdict.reason, verdict.message);
        void this.#finish(task, transition.failed(verdict.reason, verdict.message));
        return;
      case "retryable":
        this.#retryOrFail(task, attemptId, pod, verdict, now);
        return;
      case "abandoned":
        return;
    }
  }

  #retryOrFail(task: Task, attemptId: string, pod: string, v: Extract<Verdict, { kind: "retryable" }>, now: Date) {
    task.failedPods.add(pod);
    task.backoff ??= new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0.5, ...this.#deps.backoff });
    const delay = task.backoff.next();
    const failure = transition.attemptFailed(task.status, {
      attemptId,
      attemptReason: v.attemptReason,
      message: v.message,
      terminalReason: v.terminalReason,
      maxAttempts: task.policy.maxAttempts,
      now,
      nextTryAt: this.#clock.now() + delay,
      deadline: task.policy.deadline.getTime(),
    });
    task.status = failure.status;
    if (!failure.retry) {
      void this.#finish(task, failure.ending);
      return;
    }
    task.state = "backoff";
    this.#scheduler.park(task);
    void this.#write(task, "progress");
    task.timers.backoff = this.#clock.setTimer(() => {
      task.timers.backoff = undefined;
      if (task.state === "backoff") this.#enqueue(task);
    }, delay);
  }

  #writeRunning(task: Task, attemptId: string): void {
    if (task.attempt?.id !== attemptId || task.state !== "running" || this.#stopped) return;
    task.attempt.runningTimer = undefined;
    task.status = transition.running(task.status);
    void this.#write(task, "progress");
  }

  #queuedTooLong(task: Task): void {
    task.timers.queued = undefined;
    if (task.state !== "queued" || task.status.phase || this.#stopped) return;
    task.status = transition.queued(task.status, task.agent, this.#scheduler.ahead(task));
    void this.#write(task, "queued");
  }

  #deadlineReached(task: Task): void {
    task.timers.deadline = undefined;
    if (this.#stopped) return;
    if (task.state === "running" && task.attempt) {
      task.attempt.controller.abort({ kind: "deadline" } satisfies AbortReason);
      return;
    }
    if (task.state !== "queued" && task.state !== "backoff") return;
    const seconds = Math.round(task.policy.timeoutMs / 1000);
    const noPods = this.#deps.endpoints.readyPods(task.namespace, task.agent).length === 0;
    void this.#finish(
      task,
      noPods
        ? transition.failed("AgentUnavailable", `no ready pod of ${task.agent} within ${seconds} s`)
        : transition.failed("TimedOut", `timed out after ${seconds} s waiting for a free slot`),
    );
  }

  #endpointsChanged(namespace: string, agent: string): void {
    const running = this.#scheduler.running(namespace, agent);
    if (running.size) {
      const byPod = new Map(this.#deps.endpoints.endpoints(namespace, agent).map((e) => [e.pod, e]));
      for (const task of [...running]) {
        const attempt = task.attempt;
        if (!attempt) continue;
        const e = byPod.get(attempt.pod);
        if (!e || (e.terminating && !e.serving)) attempt.controller.abort({ kind: "podgone" } satisfies AbortReason);
      }
    }
    this.#pump(namespace, agent);
  }

  /** Queues a write of the task's status; a write that finds the object taken over drops the task. */
  #write(task: Task, kind: WriteKind): Promise<boolean> {
    return task.writes
      .write(task.status, kind, task.priority, () => task.state === "done")
      .then((ok) => {
        if (!ok && task.writes.lost && task.state !== "done") this.#drop(task);
        return ok;
      });
  }

  async #finish(task: Task, ending: transition.Ending, answer?: { result: ChatResult; attemptId: string }) {
    if (task.state === "done" || task.state === "finishing") return;
    task.state = "finishing";
    this.#scheduler.dequeue(task);
    this.#scheduler.unpark(task);
    this.#clearTimers(task);
    task.attempt?.controller.abort({ kind: "dropped" } satisfies AbortReason);
    // Counted from now, before any await: the attempt's slot is free, but no new attempt may take it
    // while too many results wait to be written.
    const max = this.#deps.maxPendingTerminalWrites ?? 8;
    this.#pendingTerminalWrites++;
    let written: { ok: boolean; saved: { number: number; id: string } | undefined };
    try {
      written = await this.#writeEnding(task, ending, answer);
    } finally {
      if (this.#pendingTerminalWrites-- === max) this.#pumpAll();
    }
    this.#untrack(task);
    task.state = "done";
    const known = task.writes.known;
    if (written.ok) {
      this.#deps.recent.finished(task.namespace, task.name, task.uid);
      this.#deps.waiters?.observe(known);
      if (ending.phase === "Failed") {
        const note = (ending.message ?? ending.reason).slice(0, 1000);
        this.#deps.events?.event(known as unknown as KubernetesObject, "Warning", ending.reason, note);
      }
    } else if (written.saved && !this.#stopped) {
      const { number, id } = written.saved;
      await this.#deps.results.discard(known, number, id).catch((error: unknown) => {
        task.log.warn({ ...errorFields(error) }, "removing a losing result ConfigMap failed");
      });
    }
  }

  /** Stores the answer (if any), then writes the terminal status; says whether it landed. */
  async #writeEnding(task: Task, ending: transition.Ending, answer?: { result: ChatResult; attemptId: string }) {
    const outputs: transition.Outputs = { ...(task.agent && { agent: task.agent }) };
    let saved: { number: number; id: string } | undefined;
    if (answer) {
      const number = task.status.attempts?.find((a) => a.id === answer.attemptId)?.number ?? 1;
      const known = task.writes.known;
      const stored = await storeAnswer(
        this.#deps.results,
        known,
        number,
        answer.attemptId,
        answer.result.content,
        (error) => task.log.warn({ ...errorFields(error) }, "storing a long result failed"),
      );
      outputs.result = stored.result;
      if (stored.resultRef) outputs.resultRef = stored.resultRef;
      if (answer.result.usage) outputs.usage = answer.result.usage;
      if (stored.message) ending = { ...ending, message: stored.message };
      if (stored.saved) saved = { number, id: answer.attemptId };
    }
    const now = new Date(this.#clock.now());
    task.status = transition.finished(task.status, ending, now, task.writes.known.metadata.generation, outputs);
    if (this.#stopped) return { ok: false, saved: undefined };
    return { ok: await this.#write(task, "terminal"), saved };
  }

  /** Another writer owns the object now (or it is gone): forget the task without writing. */
  #drop(task: Task): void {
    task.log.info("dropping delegation task: another writer took it over, or it is gone");
    const grace = this.#deps.recoveryGraceMs ?? 15_000;
    this.#deps.recent.dropped(task.namespace, task.name, task.uid, this.#clock.now());
    this.#discard(task);
    this.#deps.requeue?.(task.namespace, task.name, grace);
  }

  /** Ends a task without a write. */
  #discard(task: Task): void {
    const wasFinishing = task.state === "finishing";
    task.state = "done";
    this.#scheduler.dequeue(task);
    this.#scheduler.unpark(task);
    this.#clearTimers(task);
    task.attempt?.controller.abort({ kind: "dropped" } satisfies AbortReason);
    if (!wasFinishing) this.#untrack(task);
  }

  #clearTimer(task: Task, which: keyof Task["timers"]): void {
    if (task.timers[which] !== undefined) this.#clock.clearTimer(task.timers[which]);
    task.timers[which] = undefined;
  }

  #clearTimers(task: Task): void {
    this.#clearTimer(task, "deadline");
    this.#clearTimer(task, "backoff");
    this.#clearTimer(task, "queued");
  }
}
