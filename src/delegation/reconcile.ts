/**
 * The Delegation reconciler (design §3.2, §3.5, §3.7-§3.9). It never waits on a delivery: it admits
 * Delegations made with kubectl (authorize → Failed/Rejected once), hands them to the Dispatcher,
 * recovers Running ones (the Dispatcher writes them Interrupted), cancels on the annotation, runs
 * pipelines, and deletes finished Delegations after their TTL.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation, DelegationReason, DelegationStatus } from "../api/delegation.ts";
import { MAX_TASK_BYTES } from "../api/delegation.ts";
import type { AgentTeam } from "../api/team.ts";
import { deleteIgnoringNotFound } from "../runtime/apply.ts";
import type { KubeClient } from "../runtime/client.ts";
import { setCondition } from "../runtime/conditions.ts";
import type { Reconciler } from "../runtime/controller.ts";
import { isAlreadyExists, isNotFound } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import { resourcePath } from "../runtime/resource.ts";
import { metaTime } from "../runtime/time.ts";
import { parseAgent, parseTeam, teamsInNamespace } from "../team/lookup.ts";
import { authorize } from "./authorize.ts";
import { delegationReader } from "./cache.ts";
import { type Clock, realClock } from "./clock.ts";
import {
  ANNOTATION_CANCEL,
  controllerDelegationOwner,
  creationTime,
  DELEGATIONS,
  delegationPath,
  isCancelRequested,
  isTerminal,
} from "./common.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { type PipelineAction, pipelineStep, resultSource, stageChild, stageChildren } from "./pipeline.ts";
import { effectivePolicy } from "./policy.ts";
import { byteLength, type ResultStore } from "./result.ts";
import type { StatusWriter } from "./status-writer.ts";

export interface DelegationReconcilerDeps {
  client: KubeClient;
  delegations: Informer<KubernetesObject>;
  agents: Informer<KubernetesObject>;
  teams: Informer<KubernetesObject>;
  dispatcher: Dispatcher;
  writer: StatusWriter;
  results: ResultStore;
  events?: EventRecorder;
  clock?: Clock;
}

/** The status of a Delegation that ends now, with its Complete or Failed condition. */
export function terminalStatus(
  previous: DelegationStatus | undefined,
  phase: "Succeeded" | "Failed",
  reason: DelegationReason,
  message: string,
  now: Date,
  generation?: number,
): DelegationStatus {
  const status: DelegationStatus = { ...previous, phase, reason, message: message.slice(0, 4096) };
  status.completionTime = metaTime(now);
  status.startTime ??= metaTime(now);
  if (generation !== undefined) status.observedGeneration = generation;
  status.conditions = setCondition(
    previous?.conditions,
    {
      type: phase === "Succeeded" ? "Complete" : "Failed",
      status: "True",
      reason,
      message: status.message || reason,
      ...(generation !== undefined && { observedGeneration: generation }),
    },
    now,
  );
  return status;
}

const notTerminal = (fresh: Delegation) => !isTerminal(fresh);

/** How long after its creation a Delegation waits for its AgentTeam to appear before it is rejected. */
export const MISSING_TEAM_GRACE_MS = 30_000;
const MISSING_TEAM_RETRY_MS = 1_000;

export function delegationReconciler(deps: DelegationReconcilerDeps): Reconciler {
  const clock = deps.clock ?? realClock;
  const { dispatcher, writer } = deps;
  const readDelegation = delegationReader(deps.client);

  const team = (ns: string, name: string | undefined): AgentTeam | undefined => {
    if (!name) return undefined;
    const obj = deps.teams.get(`${ns}/${name}`);
    return obj ? parseTeam(obj) : undefined;
  };
  const delegation = (ns: string, name: string) => deps.delegations.get(`${ns}/${name}`) as Delegation | undefined;

  const finish = async (
    d: Delegation,
    phase: "Succeeded" | "Failed",
    reason: DelegationReason,
    message: string,
    extra: Partial<DelegationStatus> = {},
  ) => {
    const status = {
      ...terminalStatus(d.status, phase, reason, message, new Date(clock.now()), d.metadata.generation),
      ...extra,
    };
    const stored = await writer.commit(d, status, notTerminal);
    if (stored && phase === "Failed")
      deps.events?.event(d as unknown as KubernetesObject, "Warning", reason, message.slice(0, 1000));
    return stored;
  };

  const ttl = async (d: Delegation, ns: string): Promise<{ requeueAfter: number } | undefined> => {
    if (controllerDelegationOwner(d)) return undefined; // a pipeline stage goes with its parent
    const policy = effectivePolicy(d, team(ns, d.spec.team), undefined, clock.now());
    const completed = d.status?.completionTime
      ? new Date(d.status.completionTime).getTime()
      : creationTime(d, clock.now());
    const expiry = completed + policy.ttlSeconds * 1000;
    const left = expiry - clock.now();
    if (left > 0) return { requeueAfter: left };
    await deleteIgnoringNotFound(deps.client, d as unknown as KubernetesObject, { uid: d.metadata.uid! });
    return undefined;
  };

  const runPipeline = async (d: Delegation, t: AgentTeam, ns: string) => {
    const children = stageChildren(
      d,
      t,
      deps.delegations.list().filter((o) => o.metadata?.namespace === ns) as Delegation[],
    );
    let action: PipelineAction = pipelineStep(d, children, t);
    const source = resultSource(action);
    if (source !== undefined) {
      // The cache keeps a summary of finished Delegations: read the result's stage in full.
      const summary = children.get(source)!;
      const whole = await readDelegation(ns, summary.metadata.name!);
      if (!whole || whole.metadata.uid !== summary.metadata.uid) return { requeueAfter: 500 };
      children.set(source, whole);
      action = pipelineStep(d, children, t);
    }
    const policy = effectivePolicy(d, t, undefined, clock.now());
    const now = new Date(clock.now());
    switch (action.kind) {
      case "succeed":
        await finish(d, "Succeeded", "Completed", `all ${action.stages.length} stages succeeded`, {
          stages: action.stages,
          ...(action.result !== undefined && { result: action.result }),
          ...(action.resultRef && { resultRef: action.resultRef }),
          ...(action.usage && { usage: action.usage }),
        });
        return undefined;
      case "fail": {
        if (action.reason === "Cancelled") {
          // The cache may not show a child we just created: confirm with the API before failing.
          const name = action.stages.find((s) => !children.has(s.index) && s.delegation)?.delegation;
          if (name && (await exists(ns, name))) return { requeueAfter: 500 };
        }
        await finish(d, "Failed", action.reason, action.message, { stages: action.stages });
        return undefined;
      }
      case "wait":
        await writeStages(d, action.stages, now);
        return undefined;
      case "create": {
        let task: string | undefined;
        if ("text" in action.input) task = action.input.text;
        else task = await deps.results.read(ns, action.input.ref);
        if (task === undefined) {
          await finish(d, "Failed", "AgentError", `stage ${action.index - 1}: its result ConfigMap is gone`, {
            stages: action.stages,
          });
          return undefined;
        }
        if (byteLength(task) > MAX_TASK_BYTES) {
          await finish(
            d,
            "Failed",
            "StageOutputTooLarge",
            `stage ${action.index - 1} answered ${byteLength(task)} bytes; a task may have at most ${MAX_TASK_BYTES}`,
            { stages: action.stages },
          );
          return undefined;
        }
        if (!task.trim()) task = "(the previous stage answered nothing)";
        const remainingMs = policy.deadline.getTime() - clock.now();
        if (remainingMs <= 0) {
          await finish(d, "Failed", "TimedOut", `timed out after ${policy.timeoutMs / 1000} s`, {
            stages: action.stages,
          });
          return undefined;
        }
        const child = stageChild(d, t, action.index, task, {
          remainingSeconds: remainingMs / 1000,
          maxAttempts: policy.maxAttempts,
        });
        try {
          await deps.client.request("POST", resourcePath(DELEGATIONS, { namespace: ns }), { body: child });
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
        }
        const stages = action.stages.map((s) =>
          s.index === action.index ? { ...s, delegation: child.metadata.name!, phase: "Pending" as const } : s,
        );
        await writeStages(d, stages, now);
        return undefined;
      }
    }
  };

  const exists = async (ns: string, name: string) => {
    try {
      await deps.client.get(delegationPath(ns, name));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  };

  const writeStages = async (d: Delegation, stages: DelegationStatus["stages"], now: Date) => {
    const current = d.status;
    if (current?.phase === "Running" && JSON.stringify(current.stages) === JSON.stringify(stages)) return;
    const next: DelegationStatus = {
      ...current,
      phase: "Running",
      startTime: current?.startTime ?? metaTime(now),
      stages,
    };
    delete next.reason;
    delete next.message;
    await writer.commit(d, next, notTerminal);
  };

  const cancelPipeline = async (d: Delegation, ns: string) => {
    for (const s of d.status?.stages ?? []) {
      const child = s.delegation ? delegation(ns, s.delegation) : undefined;
      if (!child || isTerminal(child) || isCancelRequested(child)) continue;
      try {
        await deps.client.request("PATCH", delegationPath(ns, child.metadata.name!), {
          body: { metadata: { annotations: { [ANNOTATION_CANCEL]: "true" } } },
          contentType: "application/merge-patch+json",
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  };

  return async (request) => {
    const obj = deps.delegations.get(`${request.namespace}/${request.name}`);
    if (!obj) return undefined; // deletes reach the dispatcher through the informer
    const d = obj as Delegation;
    const ns = request.namespace;
    const uid = d.metadata.uid ?? "";
    if (isTerminal(d)) return ttl(d, ns);
    if (dispatcher.isSettled(uid)) return undefined; // a stale copy of what we finished
    const t = team(ns, d.spec.team);
    const isPipeline = !!d.spec.team && !d.spec.to && !d.spec.capability && t?.spec.pattern === "pipeline";

    if (isCancelRequested(d)) {
      if (dispatcher.cancel(uid, { record: true })) return undefined;
      if (isPipeline) await cancelPipeline(d, ns);
      await finish(d, "Failed", "Cancelled", "cancelled by the clawcrew.io/cancel annotation");
      return undefined;
    }
    if (dispatcher.has(uid)) return undefined;

    let candidates: string[] | undefined;
    if (!d.status?.phase) {
      // Admission, once: Delegations made by the endpoint were authorized already and pass again.
      const owner = controllerDelegationOwner(d);
      const ownerObj = owner ? delegation(ns, owner.name) : undefined;
      const isStage = owner !== undefined && ownerObj?.metadata.uid === owner.uid;
      if (!isStage) {
        if (d.spec.team && !t) {
          // Applied together (a directory, GitOps), the team may reach our cache after its Delegation.
          if (clock.now() - creationTime(d, clock.now()) < MISSING_TEAM_GRACE_MS) {
            return { requeueAfter: MISSING_TEAM_RETRY_MS };
          }
          await finish(d, "Failed", "Rejected", `AgentTeam ${d.spec.team} not found`);
          return undefined;
        }
        const verdict = authorize({
          caller: d.spec.from,
          team: d.spec.team,
          to: d.spec.to,
          capability: d.spec.capability,
          parent: d.spec.parent,
          teams: teamsInNamespace(deps.teams, ns),
          agent: (name) => parseAgent(deps.agents.get(`${ns}/${name}`)),
          delegation: (name) => delegation(ns, name),
        });
        if (!verdict.ok) {
          const reason: DelegationReason = verdict.missing === "agent" ? "AgentUnavailable" : "Rejected";
          await finish(d, "Failed", reason, `${verdict.code}: ${verdict.message}`);
          return undefined;
        }
        candidates = verdict.candidates;
      }
    }

    if (isPipeline && t) return runPipeline(d, t, ns);
    if (d.spec.team && !d.spec.to && !d.spec.capability && !t && d.status?.phase) {
      // A running pipeline whose team vanished.
      if (!d.status.agent) {
        await finish(d, "Failed", "Rejected", `AgentTeam ${d.spec.team} not found`);
        return undefined;
      }
    }
    const submitted = dispatcher.submit(d, candidates ? { candidates } : {});
    if (submitted.retryAfterMs !== undefined) return { requeueAfter: submitted.retryAfterMs };
    return undefined;
  };
}
