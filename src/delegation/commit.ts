import { errorFields } from "../runtime/log.ts";
import type { AbortReason } from "./attempt.ts";
import type { Clock } from "./clock.ts";
import type { DispatcherDeps } from "./dispatcher-deps.ts";
import type { WriteKind } from "./fenced-writes.ts";
import { terminalWriteLanded } from "./finish.ts";
import { storeAnswer } from "./result.ts";
import type { Scheduler } from "./scheduler.ts";
import { type Ending, finished, type Outputs } from "./status.ts";
import { clearTimers, type Task } from "./task.ts";
import type { ChatResult } from "./transport.ts";

export interface CommitterContext {
  deps: DispatcherDeps;
  clock: Clock;
  scheduler: Scheduler<Task>;
  stopped: () => boolean;
  /** The task no longer lives in the Dispatcher. */
  untrack: (task: Task) => void;
  /** Slots may start attempts again (terminal writes had held them back). */
  resume: () => void;
}

export interface Answer {
  result: ChatResult;
  attemptId: string;
}

export class Committer {
  readonly #ctx: CommitterContext;
  readonly #maxPendingEndings: number;
  /** Tasks between their end and their terminal write landing. */
  #pendingEndings = 0;

  constructor(ctx: CommitterContext) {
    this.#ctx = ctx;
    this.#maxPendingEndings = ctx.deps.maxPendingTerminalWrites ?? 8;
  }

  /** False while too many tasks wait for their terminal write: no new attempt should start. */
  canStartAttempts(): boolean {
    return this.#pendingEndings < this.#maxPendingEndings;
  }

  /** Queues a write of the task's status; a write that finds the object taken over drops the task. */
  write(task: Task, kind: WriteKind): Promise<boolean> {
    return task.writes
      .write(task.status, kind, task.priority, () => task.state === "done")
      .then((ok) => {
        if (!ok && task.writes.lost && task.state !== "done") this.#drop(task);
        return ok;
      });
  }

  /** Ends a task: stores the answer, if any, and writes the terminal status once. */
  async finish(task: Task, ending: Ending, answer?: Answer): Promise<void> {
    if (task.state === "done" || task.state === "finishing") return;
    task.state = "finishing";
    this.#leave(task);
    // Counted from now, before any await: the attempt's slot is free, but no new attempt may take it
    // while too many results wait to be written.
    this.#pendingEndings++;
    let written: { ok: boolean; saved?: { number: number; id: string } | undefined };
    try {
      written = await this.#writeEnding(task, ending, answer);
    } finally {
      if (this.#pendingEndings-- === this.#maxPendingEndings) this.#ctx.resume();
    }
    this.#ctx.untrack(task);
    task.state = "done";
    const known = task.writes.known;
    if (written.ok) {
      // `known` is the terminal write's reply, whole: the cache keeps only a summary of it.
      terminalWriteLanded(this.#ctx.deps, known, ending);
      this.#ctx.deps.waiters?.observe(known);
    } else if (written.saved && !this.#ctx.stopped()) {
      const { number, id } = written.saved;
      await this.#ctx.deps.results.discard(known, number, id).catch((error: unknown) => {
        task.log.warn({ ...errorFields(error) }, "removing a losing result ConfigMap failed");
      });
    }
  }

  /** Ends a task without a write. */
  discard(task: Task): void {
    const wasFinishing = task.state === "finishing";
    task.state = "done";
    this.#leave(task);
    if (!wasFinishing) this.#ctx.untrack(task);
  }

  async #writeEnding(task: Task, ending: Ending, answer: Answer | undefined) {
    const outputs: Outputs = { ...(task.agent && { agent: task.agent }) };
    let saved: { number: number; id: string } | undefined;
    if (answer) {
      const number = task.status.attempts?.find((a) => a.id === answer.attemptId)?.number ?? 1;
      const stored = await storeAnswer(
        this.#ctx.deps.results,
        task.writes.known,
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
    const now = new Date(this.#ctx.clock.now());
    task.status = finished(task.status, ending, now, task.writes.known.metadata.generation, outputs);
    if (this.#ctx.stopped()) return { ok: false };
    return { ok: await this.write(task, "terminal"), saved };
  }

  /** Another writer owns the object now (or it is gone): forget the task without writing. */
  #drop(task: Task): void {
    task.log.info("dropping delegation task: another writer took it over, or it is gone");
    this.#ctx.deps.recent.dropped(task.namespace, task.name, task.uid, this.#ctx.clock.now());
    this.discard(task);
    this.#ctx.deps.requeue?.(task.namespace, task.name);
  }

  /** Out of the queue, its timers cleared, its attempt (if any) aborted. */
  #leave(task: Task): void {
    this.#ctx.scheduler.dequeue(task);
    this.#ctx.scheduler.unpark(task);
    clearTimers(task, this.#ctx.clock);
    task.attempt?.controller.abort({ kind: "dropped" } satisfies AbortReason);
  }
}
