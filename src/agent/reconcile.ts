/**
 * The Agent reconciler: level-triggered and idempotent. It resolves what the Agent refers to,
 * renders the objects it owns, applies them with server-side apply, and writes status.
 * When the configuration cannot be rendered, the last good workload keeps running untouched.
 */

import type { KubernetesObject, V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import type { Agent, AgentStatus } from "../api/agent.ts";
import { addTeamIndexes } from "../api/indexes.ts";
import { AGENT_KIND, ObjectSchemaError } from "../api/registry.ts";
import { ConfigInputError, ConfigOverlayError } from "../openclaw/config.ts";
import { CONFIG_FILE } from "../openclaw/pod-layout.ts";
import { validateOpenClawConfig } from "../openclaw/schema.ts";
import { GATEWAY_PORT } from "../openclaw/version.ts";
import { WorkspaceError } from "../openclaw/workspace.ts";
import { applyStatusIfChanged, deleteIgnoringNotFound } from "../runtime/apply.ts";
import type { KubeClient } from "../runtime/client.ts";
import { findCondition } from "../runtime/conditions.ts";
import type { ReconcileContext, Reconciler, Request } from "../runtime/controller.ts";
import { isInvalid } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Logger } from "../runtime/log.ts";
import { applyControlled, getObject, isControlledBy, NotControlledError } from "../runtime/owned.ts";
import { resourcePath } from "../runtime/resource.ts";
import { keyOf } from "../runtime/store.ts";
import { scalingProblem } from "../scaling/conflicts.ts";
import { teamsInNamespace } from "../team/lookup.ts";
import { isDelegator } from "../team/topology.ts";
import { type AgentObjects, desiredObjects } from "./desired.ts";
import { ConfigProblemError, type InputSources, resolveInputs } from "./inputs.ts";
import { agentObjectNames, selectorString } from "./names.ts";
import { PolicyViolationError } from "./policy.ts";
import { agentStatus, type ConfigProblem, type WorkloadState } from "./status.ts";

/** How often an Agent whose configuration is invalid is looked at again, besides watch events. */
export const INVALID_CONFIG_RECHECK_MS = 15_000;

export interface AgentReconcilerDeps extends InputSources {
  events: EventRecorder;
  /** In-cluster DNS suffix for status.endpoint. */
  clusterDomain?: string;
}

export function agentReconciler(deps: AgentReconcilerDeps): Reconciler {
  if (deps.teams) addTeamIndexes(deps.teams);
  return async (request, context) => {
    const raw = deps.agents.get(keyOf(request));
    if (!raw || raw.metadata?.deletionTimestamp) return;
    const agent = parseAgent(raw, deps.events, context.logger);
    if (!agent) return { requeueAfter: INVALID_CONFIG_RECHECK_MS };
    return reconcileAgent(deps, agent, request, context);
  };
}

/** The Agent, or undefined after reporting why it does not match the schema. */
function parseAgent(raw: KubernetesObject, events: EventRecorder, logger: Logger): Agent | undefined {
  try {
    return AGENT_KIND.parse(raw);
  } catch (error) {
    if (!(error instanceof ObjectSchemaError)) throw error;
    // Admission validates every Agent; this only happens with a CRD older than the operator.
    events.event(raw, "Warning", "InvalidSpec", error.details);
    logger.warn({ problem: error.details }, "Agent does not match the schema");
    return undefined;
  }
}

async function reconcileAgent(deps: AgentReconcilerDeps, agent: Agent, request: Request, context: ReconcileContext) {
  const { client } = deps;
  const { signal, logger } = context;
  const names = agentObjectNames(request.name);
  const previous = agent.status;

  let desired: AgentObjects | undefined;
  let problem: ConfigProblem | undefined;
  try {
    desired = desiredObjects(agent, await resolveInputs(deps, agent, signal));
    const config = JSON.parse(desired.configMap.data![CONFIG_FILE]!) as unknown;
    const validation = validateOpenClawConfig(config);
    if (!validation.ok) {
      throw new ConfigProblemError(
        "ConfigRejected",
        `OpenClaw rejects the configuration: ${validation.problems.join("; ")}`,
      );
    }
  } catch (error) {
    if (error instanceof ConfigProblemError || error instanceof PolicyViolationError) {
      problem = { reason: error.reason, message: error.message };
    } else if (
      error instanceof ConfigOverlayError ||
      error instanceof ConfigInputError ||
      error instanceof WorkspaceError
    ) {
      problem = { reason: "InvalidConfig", message: error.message };
    } else throw error;
    desired = undefined;
  }

  let workload: WorkloadState | undefined;
  if (desired) {
    try {
      workload = await applyOwned(client, agent, desired, signal);
    } catch (error) {
      if (error instanceof NotControlledError) problem = { reason: "NameConflict", message: error.message };
      // A spec that passed admission but renders an object the API server refuses: retrying cannot fix it.
      else if (isInvalid(error)) {
        problem = {
          reason: "Rejected",
          message: `the API server refused the Agent's objects: ${(error as Error).message}`,
        };
      } else throw error;
      desired = undefined;
    }
  }
  workload ??= await currentWorkload(client, agent, signal);
  const scaling = agent.spec.scaling
    ? (scalingProblem(await withManagedFields(client, agent, signal), isLead(deps, agent)) ?? null)
    : undefined;

  const status = agentStatus(previous, {
    generation: agent.metadata.generation ?? 0,
    desiredReplicas: agent.spec.replicas,
    workload,
    configProblem: problem,
    configHash: desired?.configHash ?? previous?.configHash,
    selector: selectorString(request.name),
    scalingProblem: scaling,
    endpoint: `http://${names.service}.${request.namespace}.svc.${deps.clusterDomain ?? "cluster.local"}:${GATEWAY_PORT}`,
  });
  recordTransitions(deps.events, agent, previous, status, desired?.configHash);
  // status.scaling belongs to the autoscaler (its own field manager): neither compared nor applied here.
  const { scaling: _scaling, ...ours } = previous ?? {};
  await applyStatusIfChanged(
    client,
    { apiVersion: AGENT_KIND.apiVersion, kind: AGENT_KIND.kind, namespace: request.namespace, name: request.name },
    previous && ours,
    status,
    { signal },
  );
  if (problem) {
    logger.info({ reason: problem.reason, problem: problem.message }, "configuration invalid; workload left as it was");
    return { requeueAfter: INVALID_CONFIG_RECHECK_MS };
  }
  return undefined;
}

/**
 * Writes the Agent's objects, none of them unless each is absent or already the Agent's own
 * (NotControlledError otherwise); then removes the owned objects the spec no longer wants.
 */
async function applyOwned(client: KubeClient, agent: Agent, desired: AgentObjects, signal: AbortSignal) {
  const objects: KubernetesObject[] = [desired.serviceAccount, desired.configMap, desired.service];
  if (desired.podDisruptionBudget) objects.push(desired.podDisruptionBudget);
  objects.push(desired.workload.object);
  const applied = await applyControlled(client, objects, { signal });
  await removeOtherWorkload(client, agent, desired.workload.kind, signal);
  if (!desired.podDisruptionBudget) {
    const name = agentObjectNames(agent.metadata.name!).podDisruptionBudget;
    await deleteIfOwned(client, { apiVersion: "policy/v1", kind: "PodDisruptionBudget", name }, agent, signal);
  }
  return workloadState(applied.at(-1) as V1Deployment | V1StatefulSet);
}

function workloadState(obj: V1Deployment | V1StatefulSet): WorkloadState {
  const status = obj.status;
  const stalled =
    (obj as V1Deployment).status?.conditions?.some(
      (c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded",
    ) ?? false;
  return {
    generation: obj.metadata?.generation ?? 0,
    observedGeneration: status?.observedGeneration ?? 0,
    replicas: status?.replicas ?? 0,
    readyReplicas: status?.readyReplicas ?? 0,
    updatedReplicas: status?.updatedReplicas ?? 0,
    stalled,
  };
}

const WORKLOAD_PATHS = {
  Deployment: "deployments",
  StatefulSet: "statefulsets",
} as const;

async function currentWorkload(
  client: KubeClient,
  agent: Agent,
  signal: AbortSignal,
): Promise<WorkloadState | undefined> {
  const ns = agent.metadata.namespace!;
  const name = agentObjectNames(agent.metadata.name!).workload;
  for (const plural of Object.values(WORKLOAD_PATHS)) {
    const path = resourcePath({ group: "apps", version: "v1", plural }, { namespace: ns, name });
    const obj = await client.getIfExists<V1Deployment>(path, { signal });
    if (obj && isControlledBy(obj, agent.metadata.uid)) return workloadState(obj);
  }
  return undefined;
}

/** Switching spec.workspace.persistent swaps Deployment and StatefulSet: the other one goes. */
async function removeOtherWorkload(
  client: KubeClient,
  agent: Agent,
  kind: keyof typeof WORKLOAD_PATHS,
  signal: AbortSignal,
) {
  const other = kind === "Deployment" ? "StatefulSet" : "Deployment";
  await deleteIfOwned(
    client,
    { apiVersion: "apps/v1", kind: other, name: agentObjectNames(agent.metadata.name!).workload },
    agent,
    signal,
  );
}

/** Deletes an object this Agent controls; one that someone else created under the same name stays. */
async function deleteIfOwned(
  client: KubeClient,
  target: { apiVersion: string; kind: string; name: string },
  agent: Agent,
  signal: AbortSignal,
): Promise<void> {
  const ref = {
    apiVersion: target.apiVersion,
    kind: target.kind,
    metadata: { name: target.name, namespace: agent.metadata.namespace },
  };
  const existing = await getObject(client, ref, signal);
  if (!existing || !isControlledBy(existing, agent.metadata.uid)) return;
  await deleteIgnoringNotFound(client, ref, { signal, uid: existing.metadata?.uid });
}

/**
 * The Agent with its managedFields, which the cache drops: who else writes spec.replicas is read
 * from them, for a swarm the operator scales only (one GET per reconcile of such an Agent).
 */
async function withManagedFields(client: KubeClient, agent: Agent, signal: AbortSignal): Promise<Agent> {
  if (agent.spec.scaling?.mode !== "Operator") return agent;
  const path = resourcePath(AGENT_KIND.gvr, { namespace: agent.metadata.namespace!, name: agent.metadata.name! });
  const fresh = await client.getIfExists<KubernetesObject>(path, { signal });
  const managedFields = fresh?.metadata?.managedFields;
  return managedFields ? { ...agent, metadata: { ...agent.metadata, managedFields } } : agent;
}

/** The agent delegates in one of its teams: it leads, and is not a swarm. */
function isLead(deps: AgentReconcilerDeps, agent: Agent): boolean {
  const ns = agent.metadata.namespace!;
  return deps.teams ? teamsInNamespace(deps.teams, ns).some((t) => isDelegator(t, agent.metadata.name!)) : false;
}

/** Events for what a person watching the Agent wants to know: config problems, recoveries, rollouts, readiness. */
function recordTransitions(
  events: EventRecorder,
  agent: Agent,
  previous: AgentStatus | undefined,
  next: AgentStatus,
  newHash: string | undefined,
): void {
  const was = (type: string) => findCondition(previous?.conditions, type);
  const now = (type: string) => findCondition(next.conditions, type)!;
  const config = now("ConfigValid");
  if (
    config.status === "False" &&
    (was("ConfigValid")?.status !== "False" || was("ConfigValid")?.message !== config.message)
  ) {
    events.event(agent, "Warning", config.reason, `${config.message}; the running pods are left as they were`);
  }
  if (config.status === "True" && was("ConfigValid")?.status === "False") {
    events.event(agent, "Normal", "ConfigRecovered", "The configuration renders again; rolling out");
  }
  if (newHash && previous?.configHash && previous.configHash !== newHash) {
    events.event(
      agent,
      "Normal",
      "RollingOut",
      `Configuration changed (hash ${previous.configHash} → ${newHash}); rolling the pods`,
    );
  }
  const scaling = findCondition(next.conditions, "ScalingValid");
  if (scaling?.status === "False" && was("ScalingValid")?.message !== scaling.message) {
    events.event(agent, "Warning", scaling.reason, scaling.message);
  }
  const ready = now("Ready");
  if (ready.status === "True" && was("Ready")?.status !== "True") events.event(agent, "Normal", "Ready", ready.message);
}
