/**
 * A pipeline Delegation (a pipeline team, no `to` or `capability`) runs its stages as child
 * Delegations, one after another. `pipelineStep` decides the next action from the
 * parent, its children and the team; it is pure.
 */
import { createHash } from "node:crypto";
import type { z } from "zod";
import { LABEL_AGENT } from "../agent/names.ts";
import type { Delegation, DelegationReason, StageStatus, Usage } from "../api/delegation.ts";
import { LABEL_FROM, LABEL_STAGE, LABEL_TEAM, MANAGED_BY } from "../api/labels.ts";
import { DELEGATION_KIND } from "../api/registry.ts";
import type { AgentTeam } from "../api/team.ts";
import { childTraceAnnotations, tracingEnabled } from "../tracing/spans.ts";
import { controllerDelegationOwner, isTerminal } from "./delegation-object.ts";

type Stage = z.infer<typeof StageStatus>;
type UsageT = z.infer<typeof Usage>;

/** The deterministic name of stage i's child: AlreadyExists means it was created already. */
export function stageName(parent: string, index: number): string {
  if (parent.length <= 54) return `${parent}-s${index}`;
  const hash = createHash("sha256").update(parent).digest("hex").slice(0, 6);
  return `${parent.slice(0, 47).replace(/-+$/, "")}-${hash}-s${index}`;
}

export type PipelineAction =
  /** Create stage `index`; its task is `input` (the parent's task, or the previous stage's result). */
  | { kind: "create"; index: number; input: { text: string } | { ref: { name: string; key: string } }; stages: Stage[] }
  /** Nothing to do but keep stages[] current. */
  | { kind: "wait"; stages: Stage[] }
  | {
      kind: "succeed";
      result: string | undefined;
      resultRef: { name: string; key: string } | undefined;
      usage: UsageT | undefined;
      stages: Stage[];
    }
  | { kind: "fail"; reason: DelegationReason; message: string; stages: Stage[] };

/**
 * Children of `parent` by stage index: only those it controls whose name, `spec.to` and operator label
 * are what stageChild makes for that index. Anyone may put an ownerReference on their own Delegation;
 * a look-alike with another name or agent is not taken as a stage, and its result never passed on.
 */
export function stageChildren(
  parent: Delegation,
  team: AgentTeam,
  all: readonly Delegation[],
): Map<number, Delegation> {
  const out = new Map<number, Delegation>();
  const stages = team.spec.stages ?? [];
  for (const d of all) {
    const owner = controllerDelegationOwner(d);
    if (!owner || owner.uid !== parent.metadata.uid) continue;
    const index = Number(d.metadata.labels?.[LABEL_STAGE]);
    if (!Number.isInteger(index) || index < 0 || index >= stages.length) continue;
    const made =
      d.metadata.name === stageName(parent.metadata.name!, index) &&
      d.spec.to === stages[index] &&
      d.metadata.labels?.["app.kubernetes.io/managed-by"] === MANAGED_BY["app.kubernetes.io/managed-by"];
    if (made) out.set(index, d);
  }
  return out;
}

/** The stages' usage summed; unknown when any stage's is (a partial sum would read as the whole). */
function sumUsage(children: Delegation[]): UsageT | undefined {
  const total: UsageT = {};
  let any = false;
  for (const c of children) {
    const u = c.status?.usage;
    if (!u) continue;
    if (u.unknown) return { unknown: true };
    for (const key of ["promptTokens", "completionTokens", "totalTokens"] as const) {
      if (u[key] !== undefined) {
        total[key] = (total[key] ?? 0) + u[key];
        any = true;
      }
    }
  }
  return any ? total : undefined;
}

/** The stage whose result `action` carries (the next stage's task, or the pipeline's result), if any. */
export function resultSource(action: PipelineAction): number | undefined {
  if (action.kind === "create") return action.index > 0 ? action.index - 1 : undefined;
  if (action.kind === "succeed") return action.stages.length - 1;
  return undefined;
}

export function pipelineStep(
  parent: Delegation,
  children: ReadonlyMap<number, Delegation>,
  team: AgentTeam,
): PipelineAction {
  const agents = team.spec.stages ?? [];
  const stages: Stage[] = agents.map((agent, index) => {
    const child = children.get(index);
    return {
      index,
      agent,
      phase: child?.status?.phase ?? "Pending",
      ...(child && { delegation: child.metadata.name }),
    };
  });
  const previous = parent.status?.stages ?? [];
  // The first stage without a successful child.
  for (let index = 0; index < agents.length; index++) {
    const child = children.get(index);
    const agent = agents[index]!;
    if (!child) {
      // A child that existed (stages[] names it) and vanished while the parent runs: cancelled.
      const had = previous.find((s) => s.index === index)?.delegation;
      if (had) {
        return {
          kind: "fail",
          reason: "Cancelled",
          message: `stage ${index} (${agent}): Delegation ${had} was deleted`,
          stages,
        };
      }
      if (index === 0) return { kind: "create", index, input: { text: parent.spec.task }, stages };
      const before = children.get(index - 1)!;
      const ref = before.status?.resultRef;
      return {
        kind: "create",
        index,
        input: ref ? { ref } : { text: before.status?.result ?? "" },
        stages,
      };
    }
    if (!isTerminal(child)) return { kind: "wait", stages };
    if (child.status?.phase === "Failed") {
      const reason = (child.status.reason ?? "AgentError") as DelegationReason;
      return {
        kind: "fail",
        reason,
        message: `stage ${index} (${agent}): ${child.status.message ?? reason}`.slice(0, 4096),
        stages,
      };
    }
  }
  const last = children.get(agents.length - 1)!;
  return {
    kind: "succeed",
    result: last.status?.result,
    resultRef: last.status?.resultRef,
    usage: sumUsage([...children.values()]),
    stages,
  };
}

/** The child Delegation for stage `index`. `remainingSeconds` is the parent's time left. */
export function stageChild(
  parent: Delegation,
  team: AgentTeam,
  index: number,
  task: string,
  options: { remainingSeconds: number; maxAttempts: number },
): Delegation {
  const stages = team.spec.stages ?? [];
  const agent = stages[index]!;
  const from = index === 0 ? parent.spec.from : stages[index - 1];
  const name = parent.metadata.name!;
  return {
    apiVersion: parent.apiVersion,
    kind: "Delegation",
    metadata: {
      name: stageName(name, index),
      namespace: parent.metadata.namespace,
      labels: {
        ...MANAGED_BY,
        [LABEL_STAGE]: String(index),
        [LABEL_TEAM]: team.metadata.name!,
        [LABEL_AGENT]: agent,
        ...(from && { [LABEL_FROM]: from }),
      },
      ownerReferences: [DELEGATION_KIND.ownerReference(parent, { blockOwnerDeletion: false })],
      ...(tracingEnabled() && { annotations: childTraceAnnotations(parent) }),
    },
    spec: {
      team: team.metadata.name,
      to: agent,
      ...(from && { from }),
      task,
      ...(index === 0 && parent.spec.context && { context: parent.spec.context }),
      parent: name,
      timeoutSeconds: Math.max(1, Math.min(86_400, Math.ceil(options.remainingSeconds))),
      maxAttempts: options.maxAttempts,
      priority: parent.spec.priority ?? 0,
    },
  };
}
