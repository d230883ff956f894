/** What the Dispatcher is given, what it answers, and how the reconciler admits a Delegation to it. */
import type { Delegation } from "../api/delegation.ts";
import type { BackoffOptions } from "../runtime/backoff.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Logger } from "../runtime/log.ts";
import type { DeliveryDeps } from "./attempt.ts";
import type { Clock } from "./clock.ts";
import type { DelegationMetrics } from "./finished-metrics.ts";
import type { EffectivePolicy } from "./policy.ts";
import type { RecentWrites } from "./recent-writes.ts";
import type { ResultStore } from "./result.ts";
import type { Ending } from "./status.ts";
import type { StatusWriter } from "./status-writer.ts";
import type { WaiterRegistry } from "./waiters.ts";

/** The slots of each Agent (`spec.maxConcurrentTasks`), and a signal when they change. */
export interface AgentSlots {
  /** Undefined when the Agent does not exist. */
  slots(namespace: string, agent: string): number | undefined;
  /** Why the Agent can never get a ready pod (0 replicas, nothing scales it); undefined when it can. */
  unavailable?(namespace: string, agent: string): string | undefined;
  onChange(callback: (namespace: string, agent: string) => void): () => void;
}

export interface DispatcherDeps extends DeliveryDeps {
  agents: AgentSlots;
  /** Limits and deadline of a Delegation (its team's policy applied). */
  policy: (d: Delegation, agent: string | undefined) => EffectivePolicy;
  writer: StatusWriter;
  /** The cache's copy of a Delegation: a task keeps it instead of the API's reply of the same version. */
  cached?: ((namespace: string, name: string) => Delegation | undefined) | undefined;
  results: ResultStore;
  recent: RecentWrites;
  waiters?: WaiterRegistry | undefined;
  events?: EventRecorder | undefined;
  /** Told of each Delegation this process finished, once, after its terminal write. */
  metrics?: DelegationMetrics | undefined;
  /** Asks the reconciler to look at a Delegation again (its task was dropped). */
  requeue?: ((namespace: string, name: string) => void) | undefined;
  clock?: Clock;
  /** A queued Delegation gets one Pending/Queued write after waiting this long. Default 5 s. */
  queuedWriteDelayMs?: number;
  /** Between attempts. Default 1 s doubling to 30 s, jitter 0.5. */
  backoff?: BackoffOptions;
  /** After a task was dropped (another writer took it), it is not recovered again for this long. Default 15 s. */
  recoveryGraceMs?: number;
  /** A failing terminal write is retried until it lands, after 0.5 s doubling up to this. Default 30 s. */
  terminalWriteMaxBackoffMs?: number;
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
  | { admitted: false; ending: Ending }
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
