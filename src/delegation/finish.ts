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

/** Writes a Delegation's end once: a Delegation someone else finished first is left alone. */
export function finisher(deps: {
  writer: StatusWriter;
  recent: RecentWrites;
  clock: Clock;
  events?: EventRecorder | undefined;
  metrics?: DelegationMetrics | undefined;
}): Finish {
  return async (d, ending, outputs) => {
    const status = finished(statusWithTraceID(d), ending, new Date(deps.clock.now()), d.metadata.generation, outputs);
    const stored = await deps.writer.commit(d, status, (fresh) => !isTerminal(fresh));
    if (!stored) return undefined;
    deps.recent.finished(d.metadata.namespace ?? "", d.metadata.name ?? "", d.metadata.uid ?? "");
    delegationFinished(stored);
    deps.metrics?.finished({ ...stored, status });
    if (ending.phase === "Failed") {
      const note = (ending.message ?? ending.reason).slice(0, 1000);
      deps.events?.event(d, "Warning", ending.reason, note);
    }
    return stored;
  };
}
