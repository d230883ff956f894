import type { Delegation } from "../api/delegation.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { delegationFinished, statusWithTraceID } from "../tracing/spans.ts";
import type { Clock } from "./clock.ts";
import { isTerminal } from "./delegation-object.ts";
import type { DelegationMetrics } from "./finished-metrics.ts";
import type { RecentWrites } from "./recent-writes.ts";
import { type Ending, finished, type Outputs } from "./status.ts";
import type { StatusWriter } from "./status-writer.ts";

export type Finish = (d: Delegation, ending: Ending, outputs?: Outputs) => Promise<Delegation | undefined>;

export interface LandedDeps {
  recent: RecentWrites;
  events?: EventRecorder | undefined;
  metrics?: DelegationMetrics | undefined;
}

/**
 * What follows a terminal write that landed, on both terminal paths (the dispatcher's and the
 * reconciler's): remembered as this process's write, counted once, its span emitted, and a Warning
 * Event when it failed. `stored` is the object the write returned, whole (not the cache's summary).
 */
export function terminalWriteLanded(deps: LandedDeps, stored: Delegation, ending: Ending): void {
  deps.recent.finished(stored.metadata.namespace ?? "", stored.metadata.name ?? "", stored.metadata.uid ?? "");
  deps.metrics?.finished(stored);
  delegationFinished(stored);
  if (ending.phase === "Failed") {
    const note = (ending.message ?? ending.reason).slice(0, 1000);
    deps.events?.event(stored, "Warning", ending.reason, note);
  }
}

/** Writes a Delegation's end once: a Delegation someone else finished first is left alone. */
export function finisher(deps: LandedDeps & { writer: StatusWriter; clock: Clock }): Finish {
  return async (d, ending, outputs) => {
    const status = finished(statusWithTraceID(d), ending, new Date(deps.clock.now()), d.metadata.generation, outputs);
    const stored = await deps.writer.commit(d, status, (fresh) => !isTerminal(fresh));
    if (!stored) return undefined;
    terminalWriteLanded(deps, stored, ending);
    return stored;
  };
}
