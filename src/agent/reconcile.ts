/**
 * The Agent reconciler: level-triggered and idempotent. It resolves what the Agent refers to,
 * renders the objects it owns, applies them with server-side apply, and writes status.
 * When the configuration cannot be rendered, the last good workload keeps running untouched.
 */

import { randomBytes } from "node:crypto";
import type { KubernetesObject, V1ConfigMap, V1Deployment, V1Secret, V1StatefulSet } from "@kubernetes/client-node";
import { Agent, type AgentStatus } from "../api/agent.ts";
import { ConfigInputError, ConfigOverlayError } from "../openclaw/config.ts";
import { CONFIG_FILE, GATEWAY_TOKEN_ENV } from "../openclaw/pod-layout.ts";
import { validateOpenClawConfig } from "../openclaw/schema.ts";
import { GATEWAY_PORT } from "../openclaw/version.ts";
import { WorkspaceError } from "../openclaw/workspace.ts";
import { apply, applyStatusIfChanged, deleteIgnoringNotFound } from "../runtime/apply.ts";
import type { KubeClient } from "../runtime/client.ts";
import { findCondition } from "../runtime/conditions.ts";
import type { ReconcileContext, Reconciler, Request } from "../runtime/controller.ts";
import { isAlreadyExists, isNotFound } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import { keyOf } from "../runtime/store.ts";
import { DELEGATION_MCP_SERVER } from "../team/files.ts";
import { leadView } from "../team/lookup.ts";
import { type AgentObjects, desiredObjects, type ResolvedInputs, TOKEN_KEY, tokenSecret } from "./desired.ts";
import { agentObjectNames, selectorString } from "./names.ts";
import { agentStatus, type ConfigProblem, type WorkloadState } from "./status.ts";

/** How often an Agent whose configuration is invalid is looked at again, besides watch events. */
export const INVALID_CONFIG_RECHECK_MS = 15_000;

export interface AgentReconcilerDeps {
  client: KubeClient;
  agents: Informer<KubernetesObject>;
  events: EventRecorder;
  /** In-cluster DNS suffix for status.endpoint. */
  clusterDomain?: string;
  /**
   * The shared AgentTeam informer. With delegationEndpointUrl, an agent that delegates in a team gets
   * the roster, the delegation skill, the MCP client of the endpoint and the delegator pod label.
   */
  teams?: Informer<KubernetesObject>;
  /** URL of the operator's delegation MCP endpoint, as the agents' pods reach it (--delegation-url). */
  delegationEndpointUrl?: string;
}

/** A referenced object is missing, or the spec cannot be rendered into a config OpenClaw accepts. */
class ConfigProblemError extends Error {
  override name = "ConfigProblemError";
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export function agentReconciler(deps: AgentReconcilerDeps): Reconciler {
  return async (request, context) => {
    const raw = deps.agents.get(keyOf(request));
    if (!raw || raw.metadata?.deletionTimestamp) return;
    const parsed = Agent.safeParse(raw);
    if (!parsed.success) {
      // Admission validates every Agent; this only happens with a CRD older than the operator.
      const message = parsed.error.issues.map((i) => `spec.${i.path.join(".")}: ${i.message}`).join("; ");
      deps.events.event(raw, "Warning", "InvalidSpec", message);
      context.logger.warn({ problem: message }, "Agent does not match the schema");
      return { requeueAfter: INVALID_CONFIG_RECHECK_MS };
    }
    return reconcileAgent(deps, parsed.data, request, context);
  };
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
    if (error instanceof ConfigProblemError) problem = { reason: error.reason, message: error.message };
    else if (
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
    await apply(client, desired.serviceAccount, { signal });
    await apply(client, desired.configMap, { signal });
    await apply(client, desired.service, { signal });
    const applied = await apply<V1Deployment | V1StatefulSet>(client, desired.workload.object, { signal });
    workload = workloadState(applied);
    await removeOtherWorkload(client, agent, desired.workload.kind, signal);
    if (desired.podDisruptionBudget) await apply(client, desired.podDisruptionBudget, { signal });
    else
      await deleteIfOwned(
        client,
        { apiVersion: "policy/v1", kind: "PodDisruptionBudget", name: names.podDisruptionBudget },
        agent,
        signal,
      );
  } else {
    workload = await currentWorkload(client, agent, signal);
  }

  const status = agentStatus(previous, {
    generation: agent.metadata.generation ?? 0,
    desiredReplicas: agent.spec.replicas,
    workload,
    configProblem: problem,
    configHash: desired?.configHash ?? previous?.configHash,
    selector: selectorString(request.name),
    endpoint: `http://${names.service}.${request.namespace}.svc.${deps.clusterDomain ?? "cluster.local"}:${GATEWAY_PORT}`,
  });
  recordTransitions(deps.events, agent, previous, status, desired?.configHash);
  await applyStatusIfChanged(
    client,
    { apiVersion: agent.apiVersion, kind: "Agent", namespace: request.namespace, name: request.name },
    previous,
    status,
    { signal },
  );
  if (problem) {
    logger.info({ reason: problem.reason, problem: problem.message }, "configuration invalid; workload left as it was");
    return { requeueAfter: INVALID_CONFIG_RECHECK_MS };
  }
  return undefined;
}

/** Reads what the spec refers to. Missing objects become ConfigProblemErrors naming them. */
async function resolveInputs(deps: AgentReconcilerDeps, agent: Agent, signal: AbortSignal): Promise<ResolvedInputs> {
  const ns = agent.metadata.namespace!;
  let soul = agent.spec.soul;
  const ref = agent.spec.soulFrom?.configMapKeyRef;
  if (ref) {
    const cm = await getOrUndefined<V1ConfigMap>(
      deps.client,
      `/api/v1/namespaces/${ns}/configmaps/${ref.name}`,
      signal,
    );
    if (!cm)
      throw new ConfigProblemError(
        "SoulConfigMapNotFound",
        `ConfigMap ${ref.name} named in spec.soulFrom.configMapKeyRef does not exist`,
      );
    soul = cm.data?.[ref.key];
    if (soul === undefined) {
      throw new ConfigProblemError(
        "SoulKeyNotFound",
        `ConfigMap ${ref.name} has no key ${ref.key} (spec.soulFrom.configMapKeyRef.key)`,
      );
    }
  }
  let credentialsVersion: string | undefined;
  const secretName = agent.spec.credentials?.secretRef.name;
  if (secretName) {
    const secret = await getOrUndefined<V1Secret>(
      deps.client,
      `/api/v1/namespaces/${ns}/secrets/${secretName}`,
      signal,
    );
    if (!secret)
      throw new ConfigProblemError(
        "CredentialsSecretNotFound",
        `Secret ${secretName} named in spec.credentials.secretRef does not exist`,
      );
    credentialsVersion = secret.metadata?.resourceVersion;
  }
  const tokenVersion = await ensureTokenSecret(deps.client, agent, signal);
  const url = deps.delegationEndpointUrl;
  const team = deps.teams && url ? leadView(deps.teams, deps.agents, ns, agent.metadata.name!) : undefined;
  return {
    soul: soul ?? "",
    credentialsVersion,
    tokenVersion,
    // The lead authenticates to the endpoint with its own gateway token.
    ...(team && url && { team, mcpServers: { [DELEGATION_MCP_SERVER]: { url, tokenEnv: GATEWAY_TOKEN_ENV } } }),
  };
}

async function getOrUndefined<T>(client: KubeClient, path: string, signal: AbortSignal): Promise<T | undefined> {
  try {
    return await client.get<T>(path, { signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Creates the gateway token once; an existing Secret is never overwritten. Returns the Secret's uid. */
async function ensureTokenSecret(client: KubeClient, agent: Agent, signal: AbortSignal): Promise<string | undefined> {
  const ns = agent.metadata.namespace!;
  const name = agentObjectNames(agent.metadata.name!).tokenSecret;
  const path = `/api/v1/namespaces/${ns}/secrets/${name}`;
  const existing = await getOrUndefined<V1Secret>(client, path, signal);
  if (existing?.data?.[TOKEN_KEY]) return existing.metadata?.uid;
  if (existing) {
    throw new ConfigProblemError(
      "TokenSecretInvalid",
      `Secret ${name} exists but has no key ${TOKEN_KEY}; delete it to have a new token generated`,
    );
  }
  try {
    const created = await client.request<V1Secret>("POST", `/api/v1/namespaces/${ns}/secrets`, {
      body: tokenSecret(agent, randomBytes(32).toString("base64url")),
      signal,
    });
    return created.metadata?.uid;
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    return (await client.get<V1Secret>(path, { signal })).metadata?.uid;
  }
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
    const obj = await getOrUndefined<V1Deployment>(client, `/apis/apps/v1/namespaces/${ns}/${plural}/${name}`, signal);
    if (obj && isOwnedBy(obj, agent)) return workloadState(obj);
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
  const ns = agent.metadata.namespace!;
  const plural =
    target.kind === "PodDisruptionBudget"
      ? "poddisruptionbudgets"
      : WORKLOAD_PATHS[target.kind as keyof typeof WORKLOAD_PATHS];
  const existing = await getOrUndefined<KubernetesObject>(
    client,
    `/apis/${target.apiVersion}/namespaces/${ns}/${plural}/${target.name}`,
    signal,
  );
  if (!existing || !isOwnedBy(existing, agent)) return;
  await deleteIgnoringNotFound(
    client,
    { apiVersion: target.apiVersion, kind: target.kind, metadata: { name: target.name, namespace: ns } },
    { signal, uid: existing.metadata?.uid },
  );
}

function isOwnedBy(obj: KubernetesObject, agent: Agent): boolean {
  return obj.metadata?.ownerReferences?.some((r) => r.uid === agent.metadata.uid && r.controller === true) ?? false;
}

/** Events for what a person watching the Agent wants to know: config problems, recoveries, rollouts, readiness. */
function recordTransitions(
  events: EventRecorder,
  agent: Agent,
  previous: AgentStatus | undefined,
  next: AgentStatus,
  newHash: string | undefined,
): void {
  const obj = agent as unknown as KubernetesObject;
  const was = (type: string) => findCondition(previous?.conditions, type);
  const now = (type: string) => findCondition(next.conditions, type)!;
  const config = now("ConfigValid");
  if (
    config.status === "False" &&
    (was("ConfigValid")?.status !== "False" || was("ConfigValid")?.message !== config.message)
  ) {
    events.event(obj, "Warning", config.reason, `${config.message}; the running pods are left as they were`);
  }
  if (config.status === "True" && was("ConfigValid")?.status === "False") {
    events.event(obj, "Normal", "ConfigRecovered", "The configuration renders again; rolling out");
  }
  if (newHash && previous?.configHash && previous.configHash !== newHash) {
    events.event(
      obj,
      "Normal",
      "RollingOut",
      `Configuration changed (hash ${previous.configHash} → ${newHash}); rolling the pods`,
    );
  }
  const ready = now("Ready");
  if (ready.status === "True" && was("Ready")?.status !== "True") events.event(obj, "Normal", "Ready", ready.message);
}
