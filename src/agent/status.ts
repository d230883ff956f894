/** Computes an Agent's status from what the reconciler observed. Pure. */
import type { AgentStatus } from "../api/agent.ts";
import type { Condition } from "../api/meta.ts";
import { type ConditionUpdate, setCondition } from "../runtime/conditions.ts";

/** Why the rendered configuration could not be produced; the last good workload keeps running. */
export interface ConfigProblem {
  reason: string;
  message: string;
}

/** The parts of a Deployment's or StatefulSet's state that status depends on. */
export interface WorkloadState {
  generation: number;
  observedGeneration: number;
  /** Pods of any revision. */
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  /** The workload's own controller gave up on the rollout (ProgressDeadlineExceeded). */
  stalled: boolean;
}

export interface ObservedAgent {
  generation: number;
  desiredReplicas: number;
  workload: WorkloadState | undefined;
  configProblem: ConfigProblem | undefined;
  configHash: string | undefined;
  selector: string;
  endpoint: string;
  /** Undefined without spec.scaling; null when it can be honoured. */
  scalingProblem?: ConfigProblem | null | undefined;
}

const condition = (
  type: string,
  status: boolean,
  reason: string,
  message: string,
  generation: number,
): ConditionUpdate => ({
  type,
  status: status ? "True" : "False",
  reason,
  message,
  observedGeneration: generation,
});

/** No pod runs an old template and the workload controller has seen the current one. */
export function upToDate(w: WorkloadState, desired: number): boolean {
  return w.observedGeneration >= w.generation && w.updatedReplicas === desired && w.replicas === desired;
}

export function agentStatus(previous: AgentStatus | undefined, o: ObservedAgent, now = new Date()): AgentStatus {
  const g = o.generation;
  const w = o.workload;
  const ready = w?.readyReplicas ?? 0;
  const current = w !== undefined && upToDate(w, o.desiredReplicas);
  const complete = current && ready === o.desiredReplicas;
  const problem = o.configProblem;
  const updates: ConditionUpdate[] = [];

  updates.push(
    problem
      ? condition("ConfigValid", false, problem.reason, problem.message, g)
      : condition(
          "ConfigValid",
          true,
          "ConfigRendered",
          "openclaw.json, SOUL.md, AGENTS.md and skills are rendered",
          g,
        ),
  );

  const progress = `${ready}/${o.desiredReplicas} replicas ready, ${w?.updatedReplicas ?? 0} up to date`;
  if (problem) {
    updates.push(condition("Progressing", false, "ConfigInvalid", `Not rolling out: ${problem.message}`, g));
  } else if (!w || !complete) {
    updates.push(condition("Progressing", true, w ? "RollingOut" : "Creating", progress, g));
  } else {
    updates.push(condition("Progressing", false, "RolloutComplete", progress, g));
  }

  if (problem) {
    updates.push(condition("Degraded", true, problem.reason, problem.message, g));
  } else if (w?.stalled) {
    updates.push(condition("Degraded", true, "ProgressDeadlineExceeded", `Rollout stalled: ${progress}`, g));
  } else {
    updates.push(condition("Degraded", false, "AsExpected", progress, g));
  }

  if (o.desiredReplicas === 0) {
    updates.push(condition("Ready", false, "ScaledToZero", "spec.replicas is 0", g));
  } else if (problem) {
    updates.push(condition("Ready", false, "ConfigInvalid", problem.message, g));
  } else if (ready === 0) {
    updates.push(condition("Ready", false, "NoReadyReplicas", progress, g));
  } else if (!current) {
    updates.push(condition("Ready", false, "RollingOut", progress, g));
  } else {
    updates.push(condition("Ready", true, "AgentReady", progress, g));
  }

  // kstatus's abnormal-true pair: Reconciling while a rollout is under way, Stalled when only a
  // person can fix it (an invalid spec, a missing Secret, a name conflict, a rollout past its deadline).
  const stalled = problem
    ? { reason: problem.reason, message: problem.message }
    : w?.stalled
      ? { reason: "ProgressDeadlineExceeded", message: `Rollout stalled: ${progress}` }
      : undefined;
  if (stalled) {
    updates.push(condition("Stalled", true, stalled.reason, stalled.message, g));
    updates.push(condition("Reconciling", false, "Stalled", stalled.message, g));
  } else {
    updates.push(condition("Stalled", false, "AsExpected", progress, g));
    if (!w || !complete) updates.push(condition("Reconciling", true, w ? "RollingOut" : "Creating", progress, g));
    else updates.push(condition("Reconciling", false, "RolloutComplete", progress, g));
  }

  if (o.scalingProblem !== undefined) {
    const p = o.scalingProblem;
    updates.push(
      p
        ? condition("ScalingValid", false, p.reason, p.message, g)
        : condition("ScalingValid", true, "ScalingAccepted", "spec.scaling is in effect", g),
    );
  }

  let conditions: Condition[] = (previous?.conditions ?? []).filter(
    (c) => c.type !== "ScalingValid" || o.scalingProblem !== undefined,
  );
  for (const update of updates) conditions = setCondition(conditions, update, now);
  return {
    observedGeneration: g,
    conditions,
    replicas: w?.replicas ?? 0,
    readyReplicas: ready,
    selector: o.selector,
    endpoint: o.endpoint,
    ...(o.configHash !== undefined && { configHash: o.configHash }),
  };
}
