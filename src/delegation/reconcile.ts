/**
 * The Delegation reconciler, the only way into the delegation machinery. It reads the cache and
 * decides: a gone Delegation is forgotten, a finished one expires after its TTL, a cancel is
 * carried out, a pipeline parent runs its stages, and anything else goes to the Dispatcher, which
 * admits it once and runs it. It never waits on a delivery.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import { DELEGATION_KIND } from "../api/registry.ts";
import type { AgentTeam } from "../api/team.ts";
import type { KubeClient } from "../runtime/client.ts";
import type { Reconciler } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import { keyOf } from "../runtime/store.ts";
import { parseTeam } from "../team/lookup.ts";
import { admit } from "./admission.ts";
import { type Clock, realClock } from "./clock.ts";
import { isCancelRequested, isTerminal } from "./delegation-object.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { expire } from "./expiry.ts";
import { finisher } from "./finish.ts";
import type { DelegationMetrics } from "./finished-metrics.ts";
import { delegationReader } from "./finished-summary.ts";
import { cancelChildren, parentEnded } from "./orphans.ts";
import { runPipeline } from "./pipeline-run.ts";
import type { RecentWrites } from "./recent-writes.ts";
import type { ResultStore } from "./result.ts";
import { cancelled, failed } from "./status.ts";
import type { StatusWriter } from "./status-writer.ts";

export interface DelegationReconcilerDeps {
  client: KubeClient;
  delegations: Informer<KubernetesObject>;
  agents: Informer<KubernetesObject>;
  teams: Informer<KubernetesObject>;
  dispatcher: Dispatcher;
  writer: StatusWriter;
  results: ResultStore;
  recent: RecentWrites;
  events?: EventRecorder | undefined;
  metrics?: DelegationMetrics | undefined;
  clock?: Clock;
}

/** A pipeline parent: a pipeline team's Delegation with no `to` or `capability`. */
const isPipelineParent = (d: Delegation, team: AgentTeam | undefined) =>
  !!d.spec.team && !d.spec.to && !d.spec.capability && team?.spec.pattern === "pipeline";

export function delegationReconciler(deps: DelegationReconcilerDeps): Reconciler {
  const clock = deps.clock ?? realClock;
  const { dispatcher, recent } = deps;
  const finish = finisher({ writer: deps.writer, recent, clock, events: deps.events, metrics: deps.metrics });
  const pipeline = {
    client: deps.client,
    delegations: deps.delegations,
    readDelegation: delegationReader(deps.client),
    writer: deps.writer,
    results: deps.results,
    finish,
    clock,
  };
  const sources = { agents: deps.agents, teams: deps.teams, delegations: deps.delegations, clock };
  const teamOf = (d: Delegation): AgentTeam | undefined => {
    if (!d.spec.team) return undefined;
    const obj = deps.teams.get(keyOf({ namespace: d.metadata.namespace ?? "", name: d.spec.team }));
    return obj ? parseTeam(obj) : undefined;
  };

  return async (request) => {
    const obj = deps.delegations.get(keyOf(request));
    if (!obj) {
      dispatcher.forget(request.namespace, request.name);
      await cancelChildren(deps.client, deps.delegations, request.namespace, request.name);
      return undefined;
    }
    // The API server checked it against the CRD; what the CRD cannot say is reported once, not run.
    const d = DELEGATION_KIND.checkedCached(obj, (error) =>
      deps.events?.event(obj, "Warning", "InvalidSpec", error.message.slice(0, 1000)),
    );
    if (!d) return undefined;
    const uid = d.metadata.uid ?? "";
    if (isTerminal(d)) {
      dispatcher.forget(request.namespace, request.name, uid);
      await cancelChildren(deps.client, deps.delegations, request.namespace, request.name);
      return expire(deps.client, d, teamOf(d), clock.now());
    }
    if (recent.isFinished(uid)) return undefined; // a stale copy of what we finished
    const team = teamOf(d);
    const isPipeline = isPipelineParent(d, team);

    if (isCancelRequested(d)) {
      const message = parentEnded(d, deps.delegations);
      if (dispatcher.cancel(uid, { record: true, message })) return undefined;
      // A pipeline's stages at once; other sub-tasks once it has ended, so their record names it.
      if (isPipeline) await cancelChildren(deps.client, deps.delegations, request.namespace, request.name);
      await finish(d, cancelled(message));
      return undefined;
    }
    if (isPipeline) {
      const admission = admit(d, team, sources);
      if (!admission.admitted) {
        if ("retryAfterMs" in admission) return { requeueAfter: admission.retryAfterMs };
        await finish(d, admission.ending);
        return undefined;
      }
      return runPipeline(pipeline, d, team!);
    }
    if (d.spec.team && !d.spec.to && !d.spec.capability && !team && d.status?.phase && !d.status.agent) {
      // A running pipeline whose team vanished.
      await finish(d, failed("Rejected", `AgentTeam ${d.spec.team} not found`));
      return undefined;
    }
    const submitted = dispatcher.submit(d, () => admit(d, team, sources));
    return submitted.retryAfterMs === undefined ? undefined : { requeueAfter: submitted.retryAfterMs };
  };
}
