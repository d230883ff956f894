/**
 * The in-memory router that runs on the leader (design §3.3-§3.5): per-agent priority queues,
 * per-pod slots (`Agent.spec.maxConcurrentTasks`), the least-loaded pod, attempts with ids,
 * retries on another pod with backoff, the deadline, PodGone, the lazy Running write, tombstones,
 * and recovery of Running Delegations left by a previous leader as Interrupted.
 *
 * Reconcile workers never wait on a delivery: `submit` only queues. Every status write goes through
 * the StatusWriter with the last object the API returned to this process (`known`), so a stale
 * writer loses with 409 and drops the task; a terminal phase is written once.
 */
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import type { Attempt as AttemptSchema, Delegation, DelegationReason, DelegationStatus } from "../api/delegation.ts";
import { Backoff, type BackoffOptions } from "../runtime/backoff.ts";
import { setCondition } from "../runtime/conditions.ts";
import { defaultLogger, errorFields, type Logger } from "../runtime/log.ts";
import { metaTime } from "../runtime/time.ts";
import { type Clock, realClock } from "./clock.ts";
import { creationTime, isTerminal, lastAttemptId } from "./common.ts";
import type { EndpointSource, PodEndpoint } from "./endpoints.ts";
import type { EffectivePolicy } from "./policy.ts";
import { type ResultStore, resultConfigMapName, splitResult } from "./result.ts";
import type { StatusWriter } from "./status-writer.ts";
import type { TokenSource } from "./tokens.ts";
import { type ChatResult, chatBody, DeliveryError, type Transport } from "./transport.ts";
import type { WaiterRegistry } from "./waiters.ts";
import { BestEffortWriteDroppedError } from "./write-limiter.ts";

type Attempt = z.infer<typeof AttemptSchema>;

/** attempts[] holds at most this many entries (the CRD's limit). */
export const MAX_ATTEMPT_ENTRIES = 16;
export const DEFAULT_RUNNING_DELAY_MS = 250;
export const DEFAULT_QUEUED_WRITE_DELAY_MS = 5000;
export const DEFAULT_MAX_CONCURRENT_TASKS = 4;

export interface AgentInfo {
  maxConcurrentTasks: number;
}

export interface DispatcherDeps {
  endpoints: EndpointSource;
  tokens: TokenSource;
  /** The target Agent, or undefined when it does not exist. */
  agent: (namespace: string, name: string) => AgentInfo | undefined;
  /** Limits and deadline of a Delegation (its team's policy applied). */
  policy: (d: Delegation, agent: string | undefined) => EffectivePolicy;
  /** Delegators get a system message telling them to pass `parent`. */
  isDelegator?: (namespace: string, agent: string) => boolean;
  transport: Transport;
  writer: StatusWriter;
  results: ResultStore;
  waiters?: WaiterRegistry;
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

export interface SubmitOptions {
  /** With no spec.to: the agents the Delegation may go to, in preference order (from authorize). */
  candidates?: string[];
}

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

type AbortKind = "cancel" | "stop" | "deadline" | "podgone" | "dropped";
interface AbortReason {
  kind: AbortKind;
  /** For cancel: write a Failed/Cancelled record. */
  record?: boolean;
}

interface RunningAttempt {
  id: string;
  pod: string;
  controller: AbortController;
  runningTimer: unknown;
}

type TaskState = "queued" | "running" | "backoff" | "finishing" | "done";

interface Task {
  uid: string;
  namespace: string;
  name: string;
  /** The last object the API returned to this process (never the informer's copy). */
  known: Delegation;
  /** The status this process means to write next. */
  status: DelegationStatus;
  agent: string;
  policy: EffectivePolicy;
  priority: number;
  created: number;
  /** The last attempt id of the object we took over; ours once we wrote an attempt. */
  claimId: string | undefined;
  /** Attempt ids this process wrote (made on the first). */
  ownIds: Set<string> | undefined;
  state: TaskState;
  /** Pods an attempt failed on (made on the first failure). */
  failedPods: Set<string> | undefined;
  /** Between attempts (made on the first retry). */
  backoff: Backoff | undefined;
  attempt: RunningAttempt | undefined;
  deadlineTimer: unknown;
  backoffTimer: unknown;
  queuedTimer: unknown;
  writes: Promise<boolean>;
  /** Drops the Queued report waiting to be sent, if any. */
  queuedReport: AbortController | undefined;
}

interface Outcome {
  result?: ChatResult;
  error?: unknown;
}

const randomId = () => randomBytes(8).toString("hex");

/**
 * A snapshot of a working status. The dispatcher changes a status only at its top level (attempts,
 * conditions and usage are replaced, never changed in place), so a shallow copy is enough.
 */
function copyStatus(status: DelegationStatus): DelegationStatus {
  return { ...status };
}

/** `set` (made when undefined) with `item` added. */
function withItem(set: Set<string> | undefined, item: string): Set<string> {
  const out = set ?? new Set<string>();
  out.add(item);
  return out;
}

function attemptReasonOf(error: DeliveryError): "AgentUnavailable" | "AgentError" {
  return error.kind === "connect" || error.kind === "reset" ? "AgentUnavailable" : "AgentError";
}

/** Compares queue entries: priority (highest first), then creationTimestamp, then name. */
function before(a: Task, b: Task): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.created !== b.created) return a.created < b.created;
  return a.name < b.name;
}

export class Dispatcher {
  readonly #deps: DispatcherDeps;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #runningDelayMs: number;
  readonly #queuedWriteDelayMs: number;
  readonly #recoveryGraceMs: number;
  readonly #maxPendingTerminalWrites: number;
  /** Tasks waiting for their terminal write. */
  #pendingTerminalWrites = 0;
  readonly #tasks = new Map<string, Task>();
  /** ns/agent → queued tasks in order. */
  readonly #queues = new Map<string, Task[]>();
  /** ns/pod → attempts in flight. */
  readonly #podLoad = new Map<string, number>();
  /** ns/agent → running tasks. */
  readonly #running = new Map<string, Set<Task>>();
  readonly #roundRobin = new Map<string, number>();
  /** uid → resourceVersion of our terminal write, until the informer shows a terminal object. */
  readonly #settled = new Map<string, string>();
  /** uid → when we dropped it because another writer took it. */
  readonly #dropped = new Map<string, number>();
  readonly #loadListeners = new Set<(namespace: string, agent: string) => void>();
  readonly #unsubscribe: (() => void)[] = [];
  #stopped = false;
  /** Aborted by stop(): every request in flight ends. */
  readonly #stopping = new AbortController();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? realClock;
    this.#log = (deps.logger ?? defaultLogger).child({ component: "dispatcher" });
    this.#runningDelayMs = deps.runningDelayMs ?? DEFAULT_RUNNING_DELAY_MS;
    this.#queuedWriteDelayMs = deps.queuedWriteDelayMs ?? DEFAULT_QUEUED_WRITE_DELAY_MS;
    this.#recoveryGraceMs = deps.recoveryGraceMs ?? 15_000;
    this.#maxPendingTerminalWrites = deps.maxPendingTerminalWrites ?? 8;
    this.#unsubscribe.push(deps.endpoints.onChange((ns, agent) => this.#endpointsChanged(ns, agent)));
  }

  // ---------------------------------------------------------------- public API

  /**
   * Takes a Delegation from the cache (or the endpoint's create). Pending ones are queued; a
   * Running one with no task here is recovered: its last attempt is written as Interrupted first.
   * Ignored when it is already tracked, settled, terminal, or the dispatcher stopped.
   */
  submit(d: Delegation, options: SubmitOptions = {}): SubmitResult {
    const uid = d.metadata.uid;
    if (this.#stopped || !uid || isTerminal(d) || this.#settled.has(uid)) return { accepted: false };
    if (this.#tasks.has(uid)) return { accepted: true };
    const droppedAt = this.#dropped.get(uid);
    if (droppedAt !== undefined) {
      const left = droppedAt + this.#recoveryGraceMs - this.#clock.now();
      if (left > 0) return { accepted: false, retryAfterMs: left };
      this.#dropped.delete(uid);
    }
    const ns = d.metadata.namespace ?? "";
    const agent = d.status?.agent ?? d.spec.to ?? this.#chooseAgent(ns, options.candidates ?? []);
    const policy = this.#deps.policy(d, agent);
    const task: Task = {
      uid,
      namespace: ns,
      name: d.metadata.name ?? "",
      known: d,
      status: copyStatus(d.status ?? {}),
      agent: agent ?? "",
      policy,
      priority: d.spec.priority ?? 0,
      created: creationTime(d, this.#clock.now()),
      claimId: lastAttemptId(d),
      ownIds: undefined,
      state: "queued",
      failedPods: undefined,
      backoff: undefined,
      attempt: undefined,
      deadlineTimer: undefined,
      backoffTimer: undefined,
      queuedTimer: undefined,
      writes: Promise.resolve(true),
      queuedReport: undefined,
    };
    this.#tasks.set(uid, task);
    // Failed pods of earlier attempts (another leader's) are avoided too.
    for (const a of task.status.attempts ?? [])
      if (a.outcome === "Failed" && a.pod) task.failedPods = withItem(task.failedPods, a.pod);

    if (!agent) {
      void this.#finish(task, "Failed", "AgentUnavailable", "no agent of the team can take this Delegation");
      return { accepted: true };
    }
    if (!this.#deps.agent(ns, agent)) {
      void this.#finish(task, "Failed", "AgentUnavailable", `Agent ${agent} not found`);
      return { accepted: true };
    }
    task.deadlineTimer = this.#clock.setTimer(
      () => this.#deadlineReached(task),
      policy.deadline.getTime() - this.#clock.now(),
    );

    const attempts = task.status.attempts ?? [];
    const last = attempts[attempts.length - 1];
    if (d.status?.phase === "Running" && last?.outcome === "Running") {
      // Another process ran this attempt and is gone: claim the object before running it again.
      const now = metaTime(new Date(this.#clock.now()));
      task.status.attempts = attempts.map((a, i) =>
        i === attempts.length - 1
          ? {
              ...a,
              outcome: "Failed",
              reason: "Interrupted",
              message: "the operator that ran this attempt stopped",
              completionTime: now,
            }
          : a,
      );
      task.state = "backoff"; // not in a queue until the claim is written
      void this.#write(task, "state").then((ok) => {
        if (ok && task.state === "backoff") this.#enqueue(task);
      });
    } else {
      this.#enqueue(task);
    }
    return { accepted: true };
  }

  /**
   * Cancels a Delegation. `record: true` (the cancel annotation) writes Failed/Cancelled; false
   * (the object was deleted) writes nothing. Returns false when it is not tracked here.
   */
  cancel(uid: string, options: { record: boolean; message?: string }): boolean {
    const task = this.#tasks.get(uid);
    if (!task || task.state === "done" || task.state === "finishing") return false;
    const message = options.message ?? (options.record ? "cancelled by the clawcrew.io/cancel annotation" : "deleted");
    if (task.state === "running" && task.attempt) {
      task.attempt.controller.abort({ kind: "cancel", record: options.record } satisfies AbortReason);
      return true;
    }
    if (options.record) void this.#finish(task, "Failed", "Cancelled", message);
    else this.#discard(task);
    return true;
  }

  /**
   * The informer saw this object: a terminal sighting ends its tombstone. A running task whose last
   * write returned this very version keeps the cache's copy instead of its own (one copy, not two).
   */
  observe(d: Delegation): void {
    const uid = d.metadata.uid;
    if (!uid) return;
    if (!isTerminal(d)) {
      const task = this.#tasks.get(uid);
      if (task && d.metadata.resourceVersion === task.known.metadata.resourceVersion) task.known = d;
      return;
    }
    this.#settled.delete(uid);
    this.#dropped.delete(uid);
  }

  /** The object was deleted: cancel its task (no write) and forget its tombstone. */
  deleted(d: Delegation): void {
    const uid = d.metadata.uid;
    if (!uid) return;
    this.cancel(uid, { record: false });
    this.#settled.delete(uid);
    this.#dropped.delete(uid);
  }

  /** True while a task for this uid lives here (queued, running, backing off or writing). */
  has(uid: string): boolean {
    return this.#tasks.has(uid);
  }

  /** True between our terminal write and the informer delivering it: stale copies must be ignored. */
  isSettled(uid: string): boolean {
    return this.#settled.has(uid);
  }

  /** The agent's Agent object or its maxConcurrentTasks changed. */
  agentChanged(namespace: string, agent: string): void {
    this.#pump(namespace, agent);
  }

  waitForCompletion(namespace: string, name: string, signal?: AbortSignal): Promise<Delegation> {
    if (!this.#deps.waiters) return Promise.reject(new Error("the dispatcher has no waiter registry"));
    return this.#deps.waiters.wait(namespace, name, signal);
  }

  load(namespace: string, agent: string): AgentLoad {
    const key = `${namespace}/${agent}`;
    const ready = this.#deps.endpoints.readyPods(namespace, agent).length;
    const slots = this.#deps.agent(namespace, agent)?.maxConcurrentTasks ?? DEFAULT_MAX_CONCURRENT_TASKS;
    let queued = this.#queues.get(key)?.length ?? 0;
    for (const task of this.#tasks.values()) {
      if (task.state === "backoff" && task.namespace === namespace && task.agent === agent) queued++;
    }
    return { queued, inFlight: this.#running.get(key)?.size ?? 0, readyPods: ready, capacity: ready * slots };
  }

  /** Every ns/agent with queued or running work, for metrics. */
  loads(): { namespace: string; agent: string; load: AgentLoad }[] {
    const keys = new Set<string>([...this.#queues.keys(), ...this.#running.keys()]);
    return [...keys].map((key) => {
      const slash = key.indexOf("/");
      const namespace = key.slice(0, slash);
      const agent = key.slice(slash + 1);
      return { namespace, agent, load: this.load(namespace, agent) };
    });
  }

  /** Called (synchronously) whenever an agent's queue or in-flight count changes. */
  onLoad(callback: (namespace: string, agent: string) => void): () => void {
    this.#loadListeners.add(callback);
    return () => this.#loadListeners.delete(callback);
  }

  get stats(): { tasks: number; settled: number; dropped: number } {
    return { tasks: this.#tasks.size, settled: this.#settled.size, dropped: this.#dropped.size };
  }

  /**
   * Lost leadership or shutdown: aborts every request (each run is cancelled on its worker) and
   * writes nothing more. Resolves once writes already on the wire have ended.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    const writes: Promise<unknown>[] = [];
    this.#stopping.abort({ kind: "stop" } satisfies AbortReason);
    for (const task of this.#tasks.values()) {
      this.#clearTimers(task);
      task.state = "done";
      writes.push(task.writes);
    }
    this.#tasks.clear();
    this.#queues.clear();
    await Promise.allSettled(writes);
  }

  // ---------------------------------------------------------------- queueing and placement

  #chooseAgent(namespace: string, candidates: string[]): string | undefined {
    let best: string | undefined;
    let bestFree = Number.NEGATIVE_INFINITY;
    for (const agent of candidates) {
      if (!this.#deps.agent(namespace, agent)) continue;
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
    task.state = "queued";
    const key = `${task.namespace}/${task.agent}`;
    let queue = this.#queues.get(key);
    if (!queue) {
      queue = [];
      this.#queues.set(key, queue);
    }
    // Binary search for the first entry that `task` goes before.
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(task, queue[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    queue.splice(lo, 0, task);
    if (!task.status.phase && task.queuedTimer === undefined) {
      task.queuedTimer = this.#clock.setTimer(() => this.#queuedTooLong(task), this.#queuedWriteDelayMs);
    }
    this.#emitLoad(task.namespace, task.agent);
    this.#pump(task.namespace, task.agent);
  }

  #dequeue(task: Task): void {
    const key = `${task.namespace}/${task.agent}`;
    const queue = this.#queues.get(key);
    if (!queue) return;
    const index = queue.indexOf(task);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(key);
    this.#emitLoad(task.namespace, task.agent);
  }

  /** Starts queued tasks of every agent. */
  #pumpAll(): void {
    for (const key of [...this.#queues.keys()]) {
      const slash = key.indexOf("/");
      this.#pump(key.slice(0, slash), key.slice(slash + 1));
    }
  }

  /** Starts queued tasks of one agent while free slots exist. */
  #pump(namespace: string, agent: string): void {
    if (this.#stopped) return;
    const key = `${namespace}/${agent}`;
    const queue = this.#queues.get(key);
    if (!queue?.length) return;
    const pods = this.#deps.endpoints.readyPods(namespace, agent);
    if (pods.length === 0) return;
    const slots = this.#deps.agent(namespace, agent)?.maxConcurrentTasks ?? DEFAULT_MAX_CONCURRENT_TASKS;
    let i = 0;
    while (i < queue.length && this.#pendingTerminalWrites < this.#maxPendingTerminalWrites) {
      const free = pods.filter((p) => this.#podInFlight(namespace, p.pod) < slots);
      if (free.length === 0) break;
      const task = queue[i]!;
      const fresh = free.filter((p) => !task.failedPods?.has(p.pod));
      let pool = fresh;
      if (fresh.length === 0) {
        // Pods this Delegation failed on are used only when no other ready pod exists.
        if (pods.some((p) => !task.failedPods?.has(p.pod))) {
          i++;
          continue;
        }
        pool = free;
      }
      queue.splice(i, 1);
      this.#start(task, this.#leastLoaded(key, namespace, pool));
    }
    if (queue.length === 0) this.#queues.delete(key);
    this.#emitLoad(namespace, agent);
  }

  #leastLoaded(key: string, namespace: string, pool: readonly PodEndpoint[]): PodEndpoint {
    let min = Number.POSITIVE_INFINITY;
    let best: PodEndpoint[] = [];
    for (const p of pool) {
      const n = this.#podInFlight(namespace, p.pod);
      if (n < min) {
        min = n;
        best = [p];
      } else if (n === min) best.push(p);
    }
    const turn = this.#roundRobin.get(key) ?? 0;
    this.#roundRobin.set(key, turn + 1);
    return best[turn % best.length]!;
  }

  #podInFlight(namespace: string, pod: string): number {
    return this.#podLoad.get(`${namespace}/${pod}`) ?? 0;
  }

  #addPodLoad(namespace: string, pod: string, delta: number): void {
    const key = `${namespace}/${pod}`;
    const n = (this.#podLoad.get(key) ?? 0) + delta;
    if (n <= 0) this.#podLoad.delete(key);
    else this.#podLoad.set(key, n);
  }

  // ---------------------------------------------------------------- attempts

  #start(task: Task, pod: PodEndpoint): void {
    const ns = task.namespace;
    const clock = this.#clock;
    this.#clearTimer(task, "queuedTimer");
    let attempts = task.status.attempts ?? [];
    if (attempts.length >= MAX_ATTEMPT_ENTRIES) {
      const index = attempts.findIndex((a) => a.reason === "Interrupted");
      if (index < 0) {
        void this.#finish(task, "Failed", "AgentUnavailable", `too many attempts (${attempts.length})`);
        return;
      }
      attempts = attempts.filter((_, i) => i !== index);
    }
    const id = (this.#deps.randomId ?? randomId)();
    const number = (attempts[attempts.length - 1]?.number ?? 0) + 1;
    const record: Attempt = {
      id,
      number,
      agent: task.agent,
      pod: pod.pod,
      podIP: pod.ip,
      startTime: metaTime(new Date(clock.now())),
      outcome: "Running",
    };
    task.status.attempts = [...attempts, record];
    task.status.agent = task.agent;
    task.status.pod = pod.pod;
    task.ownIds = withItem(task.ownIds, id);
    task.state = "running";

    const controller = new AbortController();
    const attempt: RunningAttempt = { id, pod: pod.pod, controller, runningTimer: undefined };
    task.attempt = attempt;
    this.#addPodLoad(ns, pod.pod, 1);
    const agentKey = `${ns}/${task.agent}`;
    let running = this.#running.get(agentKey);
    if (!running) {
      running = new Set();
      this.#running.set(agentKey, running);
    }
    running.add(task);
    attempt.runningTimer = clock.setTimer(() => this.#writeRunning(task, attempt), this.#runningDelayMs);

    const target = this.#deps.endpoints.dialTarget(ns, task.agent, pod);
    const token = this.#deps.tokens.tokenOf(ns, task.agent);
    const signal = AbortSignal.any([this.#stopping.signal, controller.signal]);
    let delivery: Promise<ChatResult>;
    if (!target) {
      delivery = Promise.reject(new DeliveryError("connect", `no address for pod ${pod.pod}`));
    } else if (!token) {
      delivery = Promise.reject(new DeliveryError("connect", `the token Secret of ${task.agent} is not in the cache`));
    } else {
      const delegator = this.#deps.isDelegator?.(ns, task.agent) ?? false;
      try {
        delivery = this.#deps.transport({ ...target, token }, chatBody(task.known, { delegator }), signal);
      } catch (error) {
        delivery = Promise.reject(error);
      }
    }
    delivery.then(
      (result) => this.#attemptEnded(task, attempt, { result }),
      (error: unknown) => this.#attemptEnded(task, attempt, { error }),
    );
  }

  #attemptEnded(task: Task, attempt: RunningAttempt, outcome: Outcome): void {
    const ns = task.namespace;
    this.#clock.clearTimer(attempt.runningTimer);
    this.#addPodLoad(ns, attempt.pod, -1);
    const agentKey = `${ns}/${task.agent}`;
    const running = this.#running.get(agentKey);
    running?.delete(task);
    if (running?.size === 0) this.#running.delete(agentKey);
    try {
      if (task.attempt === attempt) task.attempt = undefined;
      else return;
      if (this.#stopped || task.state !== "running") return;
      this.#handleOutcome(task, attempt, outcome);
    } finally {
      this.#emitLoad(ns, task.agent);
      this.#pump(ns, task.agent);
    }
  }

  #handleOutcome(task: Task, attempt: RunningAttempt, outcome: Outcome): void {
    const reason = (attempt.controller.signal.aborted ? attempt.controller.signal.reason : undefined) as
      | AbortReason
      | undefined;
    if (reason?.kind === "cancel") {
      this.#closeAttempt(task, attempt, "Failed", "Cancelled", "cancelled");
      if (reason.record)
        void this.#finish(task, "Failed", "Cancelled", "cancelled by the clawcrew.io/cancel annotation");
      else this.#discard(task);
      return;
    }
    if (reason?.kind === "deadline") {
      const message = `timed out after ${Math.round(task.policy.timeoutMs / 1000)} s`;
      this.#closeAttempt(task, attempt, "Failed", "TimedOut", message);
      void this.#finish(task, "Failed", "TimedOut", message);
      return;
    }
    if (reason?.kind === "podgone") {
      this.#retryOrFail(
        task,
        attempt,
        "PodGone",
        `pod ${attempt.pod} left the Service's endpoints`,
        "AgentUnavailable",
      );
      return;
    }
    if (reason) return; // stop or dropped
    if (outcome.result) {
      this.#closeAttempt(task, attempt, "Succeeded");
      void this.#finish(task, "Succeeded", "Completed", undefined, outcome.result, attempt);
      return;
    }
    const error =
      outcome.error instanceof DeliveryError
        ? outcome.error
        : new DeliveryError("connect", String((outcome.error as Error)?.message ?? outcome.error));
    const attemptReason = attemptReasonOf(error);
    if (error.retryable) {
      this.#retryOrFail(task, attempt, attemptReason, error.message, attemptReason);
    } else {
      this.#closeAttempt(task, attempt, "Failed", attemptReason, error.message);
      void this.#finish(task, "Failed", attemptReason, error.message);
    }
  }

  /** Records the end of the attempt in the working status. */
  #closeAttempt(
    task: Task,
    attempt: RunningAttempt,
    outcome: "Succeeded" | "Failed",
    reason?: string,
    message?: string,
  ): void {
    const now = metaTime(new Date(this.#clock.now()));
    task.status.attempts = (task.status.attempts ?? []).map((a) =>
      a.id === attempt.id
        ? {
            ...a,
            outcome,
            completionTime: now,
            ...(reason && { reason }),
            ...(message && { message: message.slice(0, 4096) }),
          }
        : a,
    );
  }

  #retryOrFail(
    task: Task,
    attempt: RunningAttempt,
    attemptReason: string,
    message: string,
    terminalReason: DelegationReason,
  ): void {
    this.#closeAttempt(task, attempt, "Failed", attemptReason, message);
    task.failedPods = withItem(task.failedPods, attempt.pod);
    const counted = (task.status.attempts ?? []).filter((a) => a.reason !== "Interrupted").length;
    task.backoff ??= new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0.5, ...this.#deps.backoff });
    const delay = task.backoff.next();
    const deadline = task.policy.deadline.getTime();
    if (counted >= task.policy.maxAttempts || this.#clock.now() + delay >= deadline) {
      const why = counted >= task.policy.maxAttempts ? `after ${counted} attempts` : "and the deadline is near";
      void this.#finish(task, "Failed", terminalReason, `${message} (${why})`);
      return;
    }
    task.state = "backoff";
    task.status.phase = "Running";
    task.status.startTime ??= task.status.attempts?.[0]?.startTime;
    task.status.message = `attempt ${counted} failed: ${message}; retrying`.slice(0, 4096);
    delete task.status.reason;
    void this.#write(task, "state");
    task.backoffTimer = this.#clock.setTimer(() => {
      task.backoffTimer = undefined;
      if (task.state === "backoff") this.#enqueue(task);
    }, delay);
  }

  #writeRunning(task: Task, attempt: RunningAttempt): void {
    attempt.runningTimer = undefined;
    if (task.attempt !== attempt || task.state !== "running" || this.#stopped) return;
    task.status.phase = "Running";
    task.status.startTime ??= task.status.attempts?.[0]?.startTime;
    delete task.status.reason;
    delete task.status.message;
    void this.#write(task, "state");
  }

  #queuedTooLong(task: Task): void {
    task.queuedTimer = undefined;
    if (task.state !== "queued" || task.status.phase || this.#stopped) return;
    const queue = this.#queues.get(`${task.namespace}/${task.agent}`) ?? [];
    const ahead = queue.indexOf(task);
    task.status.phase = "Pending";
    task.status.reason = "Queued";
    task.status.message = `waiting for a free slot on ${task.agent} (${Math.max(0, ahead)} ahead)`;
    task.status.agent = task.agent;
    void this.#write(task, "queued");
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
    if (this.#deps.endpoints.readyPods(task.namespace, task.agent).length === 0) {
      void this.#finish(task, "Failed", "AgentUnavailable", `no ready pod of ${task.agent} within ${seconds} s`);
    } else {
      void this.#finish(task, "Failed", "TimedOut", `timed out after ${seconds} s waiting for a free slot`);
    }
  }

  #endpointsChanged(namespace: string, agent: string): void {
    const running = this.#running.get(`${namespace}/${agent}`);
    if (running?.size) {
      const byPod = new Map(this.#deps.endpoints.endpoints(namespace, agent).map((e) => [e.pod, e]));
      for (const task of [...running]) {
        const attempt = task.attempt;
        if (!attempt) continue;
        const e = byPod.get(attempt.pod);
        if (!e || (e.terminating && !e.serving)) {
          attempt.controller.abort({ kind: "podgone" } satisfies AbortReason);
        }
      }
    }
    this.#pump(namespace, agent);
  }

  // ---------------------------------------------------------------- writes and endings

  #isStillMine(task: Task, fresh: Delegation): boolean {
    if (isTerminal(fresh)) return false;
    const id = lastAttemptId(fresh);
    if (id === undefined) return task.claimId === undefined;
    return id === task.claimId || task.ownIds?.has(id) === true;
  }

  /**
   * Queues a write of the working status; resolves false when the task was dropped or stopped.
   * The Queued report is best effort: it waits behind other writes, and is dropped if the task's
   * next write is queued before it was sent (that one carries the whole status).
   */
  #write(task: Task, kind: "queued" | "state" | "terminal"): Promise<boolean> {
    const snapshot = copyStatus(task.status);
    const terminal = kind === "terminal";
    task.queuedReport?.abort();
    const report = kind === "queued" ? new AbortController() : undefined;
    task.queuedReport = report;
    task.writes = task.writes.then(async (previousOk) => {
      if (!previousOk || this.#stopped || (task.state === "done" && !terminal)) return false;
      const tries = terminal ? (this.#deps.terminalWriteRetries ?? 4) + 1 : 1;
      try {
        for (let i = 0; i < tries; i++) {
          if (this.#stopped) return false;
          try {
            const stored = await this.#deps.writer.commit(
              task.known,
              snapshot,
              (fresh) => this.#isStillMine(task, fresh),
              { priority: task.priority, ...(report && { bestEffort: report.signal }) },
            );
            if (!stored) {
              this.#drop(task, "another writer took it over, or it is gone");
              return false;
            }
            task.known = stored;
            task.claimId = lastAttemptId(stored);
            return true;
          } catch (error) {
            if (error instanceof BestEffortWriteDroppedError) return true;
            this.#log.warn(
              { ...errorFields(error), namespace: task.namespace, name: task.name, terminal },
              "delegation status write failed",
            );
            if (!terminal) return true; // the next write carries the whole status again
            await new Promise<void>((resolve) => this.#clock.setTimer(resolve, 500 * 2 ** i));
          }
        }
        return false;
      } finally {
        if (task.queuedReport === report) task.queuedReport = undefined;
      }
    });
    return task.writes;
  }

  async #finish(
    task: Task,
    phase: "Succeeded" | "Failed",
    reason: DelegationReason,
    message?: string,
    result?: ChatResult,
    attempt?: RunningAttempt,
  ): Promise<void> {
    if (task.state === "done" || task.state === "finishing") return;
    task.state = "finishing";
    this.#dequeue(task);
    this.#clearTimers(task);
    if (task.attempt) task.attempt.controller.abort({ kind: "dropped" } satisfies AbortReason);

    const now = new Date(this.#clock.now());
    const status = task.status;
    status.phase = phase;
    status.reason = reason;
    if (message) status.message = message.slice(0, 4096);
    else delete status.message;
    status.completionTime = metaTime(now);
    status.startTime ??= status.attempts?.[0]?.startTime ?? metaTime(now);
    if (task.agent) status.agent = task.agent;
    const generation = task.known.metadata.generation;
    status.observedGeneration = generation;
    const attemptNumber = status.attempts?.find((a) => a.id === attempt?.id)?.number ?? 1;
    let saved = false;
    if (result && attempt) {
      const split = splitResult(result.content, resultConfigMapName(task.name, attemptNumber, attempt.id));
      status.result = split.result;
      if (split.overflow !== undefined) {
        try {
          status.resultRef = await this.#deps.results.save(task.known, attemptNumber, attempt.id, split.overflow);
          saved = true;
        } catch (error) {
          this.#log.warn({ ...errorFields(error), name: task.name }, "storing a long result failed");
          status.message = "the result was longer than status.result allows and could not be stored in full";
        }
        if (split.cutMessage) status.message = split.cutMessage;
      }
      if (result.usage) status.usage = result.usage;
    }
    const conditionType = phase === "Succeeded" ? "Complete" : "Failed";
    status.conditions = setCondition(
      status.conditions,
      {
        type: conditionType,
        status: "True",
        reason,
        message: status.message ?? (phase === "Succeeded" ? "the agent answered" : reason),
        ...(generation !== undefined && { observedGeneration: generation }),
      },
      now,
    );
    if (this.#stopped) return;
    this.#pendingTerminalWrites++;
    let ok: boolean;
    try {
      ok = await this.#write(task, "terminal");
    } finally {
      if (this.#pendingTerminalWrites-- === this.#maxPendingTerminalWrites) this.#pumpAll();
    }
    if (ok) {
      const uid = task.uid;
      if (!isTerminal(task.known)) {
        // Cannot happen: the server returned what we wrote.
        this.#log.error({ name: task.name }, "terminal write returned a non-terminal object");
      }
      this.#settled.set(uid, task.known.metadata.resourceVersion ?? "");
      task.state = "done";
      this.#tasks.delete(uid);
      this.#deps.waiters?.observe(task.known);
      this.#emitLoad(task.namespace, task.agent);
    } else {
      if (this.#tasks.get(task.uid) === task) this.#tasks.delete(task.uid);
      task.state = "done";
      if (saved && attempt && !this.#stopped) {
        await this.#deps.results.discard(task.known, attemptNumber, attempt.id).catch((error: unknown) => {
          this.#log.warn({ ...errorFields(error), name: task.name }, "removing a losing result ConfigMap failed");
        });
      }
    }
  }

  /** Another writer owns the object now (or it is gone): forget the task without writing. */
  #drop(task: Task, why: string): void {
    this.#log.info({ namespace: task.namespace, name: task.name, why }, "dropping delegation task");
    this.#dropped.set(task.uid, this.#clock.now());
    this.#discard(task);
  }

  /** Ends a task without a write. */
  #discard(task: Task): void {
    const wasFinishing = task.state === "finishing";
    task.state = "done";
    this.#dequeue(task);
    this.#clearTimers(task);
    if (task.attempt) task.attempt.controller.abort({ kind: "dropped" } satisfies AbortReason);
    if (!wasFinishing && this.#tasks.get(task.uid) === task) this.#tasks.delete(task.uid);
    this.#emitLoad(task.namespace, task.agent);
  }

  #clearTimer(task: Task, which: "deadlineTimer" | "backoffTimer" | "queuedTimer"): void {
    if (task[which] !== undefined) this.#clock.clearTimer(task[which]);
    task[which] = undefined;
  }

  #clearTimers(task: Task): void {
    this.#clearTimer(task, "deadlineTimer");
    this.#clearTimer(task, "backoffTimer");
    this.#clearTimer(task, "queuedTimer");
  }

  #emitLoad(namespace: string, agent: string): void {
    for (const listener of this.#loadListeners) {
      try {
        listener(namespace, agent);
      } catch (error) {
        this.#log.error({ ...errorFields(error) }, "load listener threw");
      }
    }
  }
}
