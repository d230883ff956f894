/**
 * Moves tasks along: queued → an attempt on a pod → its verdict → another attempt after a backoff,
 * or the end. Every attempt is recorded (Running, on its pod) before its request is sent, so a leader
 * that dies mid-request leaves a trace the next one ends as Interrupted. It also owns the timers of a
 * task (the deadline, the one Queued report) and reacts to capacity: pods coming and going, an Agent's
 * slots changing.
 */
import { randomBytes } from "node:crypto";
import { Backoff } from "../runtime/backoff.ts";
import { endAttemptSpan, inSpan, interruptedAttempts, startAttemptSpan } from "../tracing/spans.ts";
import { type AbortReason, deliver, judge, type Verdict } from "./attempt.ts";
import type { Clock } from "./clock.ts";
import type { Committer } from "./commit.ts";
import type { DispatcherDeps } from "./dispatcher-deps.ts";
import type { PodEndpoint } from "./pod-endpoints.ts";
import { timedOut } from "./policy.ts";
import type { Scheduler } from "./scheduler.ts";
import * as transition from "./status.ts";
import { clearTimer, type RunningAttempt, type Task } from "./task.ts";
import type { ChatResult } from "./transport.ts";

const randomId = () => randomBytes(8).toString("hex");

/** An attempt whose record did not land: its request is never sent. */
export class AttemptNotRecordedError extends Error {
  override readonly name = "AttemptNotRecordedError";
  constructor(attemptId: string) {
    super(`attempt ${attemptId} was not recorded: the Delegation is another writer's or gone, or the operator stops`);
  }
}

export interface TaskRunnerContext {
  deps: DispatcherDeps;
  clock: Clock;
  scheduler: Scheduler<Task>;
  committer: Committer;
  /** Aborted when the Dispatcher stops: every request in flight ends. */
  stopping: AbortSignal;
}

export class TaskRunner {
  readonly #ctx: TaskRunnerContext;
  readonly #deps: DispatcherDeps;
  readonly #clock: Clock;

  constructor(ctx: TaskRunnerContext) {
    this.#ctx = ctx;
    this.#deps = ctx.deps;
    this.#clock = ctx.clock;
  }

  get #stopped(): boolean {
    return this.#ctx.stopping.aborted;
  }

  /** A new task: its deadline starts now; a recovered one claims its object first. */
  run(task: Task, recovered: boolean): void {
    task.deadlineTimer = this.#clock.setTimer(
      () => this.#deadlineReached(task),
      task.policy.deadline.getTime() - this.#clock.now(),
    );
    if (!recovered) {
      this.#enqueue(task);
      return;
    }
    // Another process ran the last attempt and is gone: it ends Interrupted before another runs.
    const before = task.status;
    task.status = transition.interrupted(task.status, new Date(this.#clock.now()));
    interruptedAttempts(task.writes.known, before, task.status);
    task.state = "backoff"; // in no queue until the claim is written
    this.#ctx.scheduler.park(task);
    void this.#ctx.committer.write(task, "progress").then((ok) => {
      if (ok && task.state === "backoff") this.#enqueue(task);
    });
  }

  /** Starts queued tasks of one agent while its pods have free slots. */
  pump(namespace: string, agent: string): void {
    if (this.#stopped) return;
    const slots = this.#deps.agents.slots(namespace, agent);
    if (slots === undefined) return;
    this.#ctx.scheduler.place(
      namespace,
      agent,
      this.#deps.endpoints.readyPods(namespace, agent),
      slots,
      () => this.#ctx.committer.canStartAttempts(),
      (task, pod) => this.#start(task, pod),
    );
  }

  pumpAll(): void {
    for (const { namespace, agent } of this.#ctx.scheduler.agents()) this.pump(namespace, agent);
  }

  /**
   * The agent's endpoints changed: attempts on pods that left end PodGone, new pods take work. A
   * terminating pod keeps its attempts, serving or not: they finish there within its grace period,
   * and a pod that dies first breaks the connection (a recorded attempt, then failover).
   */
  endpointsChanged(namespace: string, agent: string): void {
    const running = this.#ctx.scheduler.running(namespace, agent);
    if (running.size) {
      const byPod = new Map(this.#deps.endpoints.endpoints(namespace, agent).map((e) => [e.pod, e]));
      for (const task of [...running]) {
        const attempt = task.attempt;
        if (!attempt) continue;
        const e = byPod.get(attempt.pod);
        if (!e) attempt.controller.abort({ kind: "podgone" } satisfies AbortReason);
      }
    }
    this.pump(namespace, agent);
  }

  #enqueue(task: Task): void {
    if (this.#stopped || task.state === "done" || task.state === "finishing") return;
    this.#ctx.scheduler.unpark(task);
    task.state = "queued";
    this.#ctx.scheduler.enqueue(task);
    if (!task.status.phase && task.queuedTimer === undefined) {
      const delay = this.#deps.queuedWriteDelayMs ?? 5000;
      task.queuedTimer = this.#clock.setTimer(() => this.#queuedTooLong(task), delay);
    }
    this.pump(task.namespace, task.agent);
  }

  /** Starts an attempt on `pod`; false when the Delegation has no attempts left (it is failing). */
  #start(task: Task, pod: PodEndpoint): boolean {
    clearTimer(task, "queuedTimer", this.#clock);
    const id = (this.#deps.randomId ?? randomId)();
    const now = new Date(this.#clock.now());
    const started = transition.attemptStarted(task.status, {
      id,
      agent: task.agent,
      pod: pod.pod,
      podIP: pod.ip,
      now,
    });
    if (!started) {
      const count = task.status.attempts?.length ?? 0;
      void this.#ctx.committer.finish(task, transition.failed("AgentUnavailable", `too many attempts (${count})`));
      return false;
    }
    task.status = transition.running(started, now);
    task.writes.own(id);
    task.state = "running";
    const number = started.attempts?.at(-1)?.number ?? 1;
    const span = startAttemptSpan(task.writes.known, { id, number, agent: task.agent, pod: pod.pod });
    const attempt: RunningAttempt = {
      id,
      pod: pod.pod,
      controller: new AbortController(),
      span,
    };
    task.attempt = attempt;
    const recorded = this.#ctx.committer.write(task, "attempt");
    const signal = AbortSignal.any([this.#ctx.stopping, attempt.controller.signal]);
    const deliverOnceRecorded = async () => {
      // False: the object is another writer's now, or gone, or this process stops; nothing was sent.
      if (!(await recorded)) throw new AttemptNotRecordedError(id);
      signal.throwIfAborted();
      return deliver(this.#deps, task.writes.known, task.agent, pod, signal);
    };
    inSpan(span, deliverOnceRecorded).then(
      (result) => this.#attemptEnded(task, attempt, { result }),
      (error: unknown) => this.#attemptEnded(task, attempt, { error }),
    );
    return true;
  }

  #attemptEnded(task: Task, attempt: RunningAttempt, settled: { result: ChatResult } | { error: unknown }): void {
    this.#ctx.scheduler.release(task, attempt.pod);
    const abort = attempt.controller.signal.aborted ? (attempt.controller.signal.reason as AbortReason) : undefined;
    const stopped = this.#stopped && !abort ? "stop" : abort?.kind;
    endAttemptSpan(attempt.span, "error" in settled ? settled.error : undefined, stopped);
    try {
      if (task.attempt !== attempt) return;
      task.attempt = undefined;
      if (this.#stopped || task.state !== "running") return;
      const signal = attempt.controller.signal;
      const aborted = signal.aborted ? (signal.reason as AbortReason) : undefined;
      this.#act(task, attempt, judge(settled, aborted, attempt.pod));
    } finally {
      this.pump(task.namespace, task.agent);
    }
  }

  #act(task: Task, attempt: RunningAttempt, verdict: Verdict): void {
    const now = new Date(this.#clock.now());
    const { committer } = this.#ctx;
    const end = (outcome: "Succeeded" | "Failed", reason?: string, message?: string) => {
      task.status = transition.attemptEnded(task.status, attempt.id, outcome, now, reason, message);
    };
    switch (verdict.kind) {
      case "answered":
        end("Succeeded");
        void committer.finish(
          task,
          { phase: "Succeeded", reason: "Completed" },
          { result: verdict.result, attemptId: attempt.id },
        );
        return;
      case "cancelled":
        end("Failed", "Cancelled", "cancelled");
        if (verdict.record) void committer.finish(task, transition.cancelled(verdict.message));
        else committer.discard(task);
        return;
      case "timedOut": {
        const message = timedOut(task.policy);
        end("Failed", "TimedOut", message);
        void committer.finish(task, transition.failed("TimedOut", message));
        return;
      }
      case "failed":
        end("Failed", verdict.reason, verdict.message);
        void committer.finish(task, transition.failed(verdict.reason, verdict.message));
        return;
      case "retryable":
        this.#retryOrFail(task, attempt, verdict, now);
        return;
      case "abandoned":
        return;
    }
  }

  #retryOrFail(task: Task, attempt: RunningAttempt, v: Extract<Verdict, { kind: "retryable" }>, now: Date): void {
    task.failedOn(attempt.pod);
    task.backoff ??= new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0.5, ...this.#deps.backoff });
    const delay = task.backoff.next();
    const failure = transition.attemptFailed(task.status, {
      attemptId: attempt.id,
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
      void this.#ctx.committer.finish(task, failure.ending);
      return;
    }
    task.state = "backoff";
    this.#ctx.scheduler.park(task);
    void this.#ctx.committer.write(task, "progress");
    task.backoffTimer = this.#clock.setTimer(() => {
      task.backoffTimer = undefined;
      if (task.state === "backoff") this.#enqueue(task);
    }, delay);
  }

  #queuedTooLong(task: Task): void {
    task.queuedTimer = undefined;
    if (task.state !== "queued" || task.status.phase || this.#stopped) return;
    task.status = transition.queued(task.status, task.agent, this.#ctx.scheduler.ahead(task));
    void this.#ctx.committer.write(task, "queued");
  }

  #deadlineReached(task: Task): void {
    task.deadlineTimer = undefined;
    if (this.#stopped) return;
    if (task.state === "running" && task.attempt) {
      task.attempt.controller.abort({ kind: "deadline" } satisfies AbortReason);
      return;
    }
    if (task.state !== "queued" && task.state !== "backoff") return;
    const seconds = Math.round(task.policy.timeoutMs / 1000);
    const noPods = this.#deps.endpoints.readyPods(task.namespace, task.agent).length === 0;
    void this.#ctx.committer.finish(
      task,
      noPods
        ? transition.failed("AgentUnavailable", `no ready pod of ${task.agent} within ${seconds} s`)
        : transition.failed("TimedOut", timedOut(task.policy, " waiting for a free slot")),
    );
  }
}
