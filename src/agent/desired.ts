/**
 * Pure functions from an Agent (and the inputs the reconciler resolved for it) to the objects it owns.
 */
import { createHash } from "node:crypto";
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1ObjectMeta,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1PodTemplateSpec,
  V1ResourceRequirements,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
  V1Volume,
} from "@kubernetes/client-node";
import { AGENT_DEFAULT_RESOURCES, type Agent } from "../api/agent.ts";
import { ANNOTATION_CONFIG_HASH, LABEL_DELEGATOR } from "../api/labels.ts";
import { AGENT_KIND } from "../api/registry.ts";
import { type McpServer, renderOpenClawConfig } from "../openclaw/config.ts";
import {
  CONFIG_DIR,
  configVolumeFiles,
  DELEGATION_TOKEN_ENV,
  GATEWAY_ENV,
  GATEWAY_TOKEN_ENV,
  gatewayArgs,
  HOME_DIR,
  INIT_COMMAND,
  LIVENESS_PATH,
  READINESS_PATH,
  STARTUP_PATH,
  TMP_DIR,
  WORKSPACE_DIR,
} from "../openclaw/pod-layout.ts";
import { DEFAULT_IMAGE, GATEWAY_PORT, IMAGE_GROUP_ID, IMAGE_USER_ID, IMAGE_WORKDIR } from "../openclaw/version.ts";
import { renderWorkspaceFiles, WorkspaceError } from "../openclaw/workspace.ts";
import { terminationGraceSeconds } from "../scaling/desired.ts";
import { MAX_TEAM_APPENDIX_BYTES, renderTeamFiles, TEAM_SKILL_NAME } from "../team/files.ts";
import type { LeadView } from "../team/view.ts";
import { agentObjectNames, selectorLabels } from "./names.ts";

/** What the reconciler resolved from other objects before rendering. */
export interface ResolvedInputs {
  /** SOUL.md text, from spec.soul or the ConfigMap key in spec.soulFrom. */
  soul: string;
  /** resourceVersion of spec.credentials' Secret: rotating the Secret rolls the pods. */
  credentialsVersion?: string | undefined;
  /** The keys of spec.credentials' Secret, which spec.config may reference as `${KEY}`. */
  credentialKeys?: string[] | undefined;
  /** uid of the token Secret: a re-created token rolls the pods, which read it at start. */
  tokenVersion?: string | undefined;
  /**
   * A digest of the delegation token, set when the pods get it (extraEnv): a regenerated delegation
   * token rolls them too, even when the Secret keeps its uid.
   */
  delegationTokenVersion?: string | undefined;
  /** MCP servers the agent may call, such as the operator's delegation endpoint for a lead. */
  mcpServers?: Record<string, McpServer> | undefined;
  /** Extra env for the gateway, such as the token an MCP server expects. */
  extraEnv?: V1EnvVar[] | undefined;
  /**
   * The teams in which the agent delegates: the roster and the delegation skill go into its workspace
   * and its pods get the delegator label. Set mcpServers to the delegation endpoint along with it.
   */
  team?: LeadView | undefined;
}

/** The gateway's default resources (see AGENT_DEFAULT_RESOURCES). */
export const DEFAULT_RESOURCES: V1ResourceRequirements = AGENT_DEFAULT_RESOURCES;
export const DEFAULT_WORKSPACE_SIZE = "1Gi";
/** The token Secret's keys: the gateway token (the operator calls the gateway with it) and the delegation token. */
export const TOKEN_KEY = "token";
export const DELEGATION_TOKEN_KEY = "delegation-token";
const TMP_SIZE_LIMIT = "1Gi";
const HTTP_PORT_NAME = "http";

export interface AgentObjects {
  configMap: V1ConfigMap;
  serviceAccount: V1ServiceAccount;
  service: V1Service;
  workload: { kind: "Deployment"; object: V1Deployment } | { kind: "StatefulSet"; object: V1StatefulSet };
  /** null when the agent runs at most one replica: a PDB would then block node drains. */
  podDisruptionBudget: V1PodDisruptionBudget | null;
  configHash: string;
}

function meta(agent: Agent, name: string): V1ObjectMeta {
  return {
    name,
    namespace: agent.metadata.namespace!,
    labels: AGENT_KIND.labels(agent.metadata.name!),
    ownerReferences: [AGENT_KIND.ownerReference(agent)],
  };
}

/** A stable hash of everything that, when it changes, must restart the gateway. */
export function configHash(
  data: Record<string, string>,
  versions: { credentials?: string | undefined; token?: string | undefined; delegationToken?: string | undefined } = {},
): string {
  const hash = createHash("sha256");
  for (const key of Object.keys(data).sort()) hash.update(`${key}\0${data[key]}\0`);
  hash.update(`credentials\0${versions.credentials ?? ""}\0token\0${versions.token ?? ""}`);
  // Only when set, so that the pods of an agent that does not delegate keep their hash.
  if (versions.delegationToken !== undefined) hash.update(`\0delegation-token\0${versions.delegationToken}`);
  return hash.digest("hex").slice(0, 16);
}

/** All objects an Agent owns except its token Secret (see tokenSecret). Throws on an invalid spec.config. */
export function desiredObjects(agent: Agent, inputs: ResolvedInputs): AgentObjects {
  const name = agent.metadata.name!;
  const names = agentObjectNames(name);
  const spec = agent.spec;
  const userSkills = spec.skills ?? [];
  if (userSkills.some((s) => s.name === TEAM_SKILL_NAME)) {
    throw new WorkspaceError(`skill name ${TEAM_SKILL_NAME} is reserved for the operator's delegation skill`);
  }
  const team = inputs.team ? renderTeamFiles(inputs.team) : undefined;
  const config = renderOpenClawConfig({
    agentName: name,
    spec,
    mcpServers: inputs.mcpServers,
    bootstrapExtraChars: team ? MAX_TEAM_APPENDIX_BYTES + 2 : 0,
    credentialKeys: inputs.credentialKeys,
  });
  const instructions = team
    ? spec.instructions
      ? `${spec.instructions}\n\n${team.agentsAppendix}`
      : team.agentsAppendix
    : spec.instructions;
  const skills = team ? [...userSkills, { name: TEAM_SKILL_NAME, content: team.skill }] : userSkills;
  const files = configVolumeFiles(config, renderWorkspaceFiles({ soul: inputs.soul, instructions, skills }));
  const data = Object.fromEntries(files.map((f) => [f.key, f.content]));
  const hash = configHash(data, {
    credentials: inputs.credentialsVersion,
    token: inputs.tokenVersion,
    delegationToken: inputs.delegationTokenVersion,
  });

  const configMap: V1ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(agent, names.configMap),
    data,
  };
  const serviceAccount: V1ServiceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: meta(agent, names.serviceAccount),
    automountServiceAccountToken: false,
  };
  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(agent, names.service),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(name),
      ports: [{ name: HTTP_PORT_NAME, port: GATEWAY_PORT, targetPort: HTTP_PORT_NAME, protocol: "TCP" }],
    },
  };
  const configItems = files.map((f) => ({ key: f.key, path: f.path }));
  const template = podTemplate(agent, inputs, hash, configItems);
  const persistent = spec.workspace?.persistent === true;
  const workload: AgentObjects["workload"] = persistent
    ? { kind: "StatefulSet", object: statefulSet(agent, template) }
    : { kind: "Deployment", object: deployment(agent, template) };
  const podDisruptionBudget: V1PodDisruptionBudget | null =
    spec.replicas > 1
      ? {
          apiVersion: "policy/v1",
          kind: "PodDisruptionBudget",
          metadata: meta(agent, names.podDisruptionBudget),
          spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(name) } },
        }
      : null;
  return { configMap, serviceAccount, service, workload, podDisruptionBudget, configHash: hash };
}

/**
 * The token Secret: the gateway token and the delegation token, two independent random values. The
 * reconciler creates it once and never overwrites a key; it only adds a missing delegation token.
 */
export function tokenSecret(agent: Agent, tokens: { gateway: string; delegation: string }): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(agent, agentObjectNames(agent.metadata.name!).tokenSecret),
    type: "Opaque",
    stringData: { [TOKEN_KEY]: tokens.gateway, [DELEGATION_TOKEN_KEY]: tokens.delegation },
  };
}

/** The env var that hands a delegator its delegation token (the MCP client's tokenEnv). */
export function delegationTokenEnv(agentName: string): V1EnvVar {
  return {
    name: DELEGATION_TOKEN_ENV,
    valueFrom: { secretKeyRef: { name: agentObjectNames(agentName).tokenSecret, key: DELEGATION_TOKEN_KEY } },
  };
}

function deployment(agent: Agent, template: V1PodTemplateSpec): V1Deployment {
  const name = agent.metadata.name!;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(agent, agentObjectNames(name).workload),
    spec: {
      replicas: agent.spec.replicas,
      selector: { matchLabels: selectorLabels(name) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      revisionHistoryLimit: 5,
      template,
    },
  };
}

/** With a persistent workspace each replica gets its own ReadWriteOnce volume, so replicas never share one. */
function statefulSet(agent: Agent, template: V1PodTemplateSpec): V1StatefulSet {
  const name = agent.metadata.name!;
  const names = agentObjectNames(name);
  const workspace = agent.spec.workspace!;
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(agent, names.workload),
    spec: {
      replicas: agent.spec.replicas,
      serviceName: names.service,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: selectorLabels(name) },
      revisionHistoryLimit: 5,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
      template,
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: names.workspaceClaim, labels: AGENT_KIND.labels(name) },
          spec: {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: String(workspace.size ?? DEFAULT_WORKSPACE_SIZE) } },
            ...(workspace.storageClassName && { storageClassName: workspace.storageClassName }),
          },
        },
      ],
    },
  };
}

function podTemplate(
  agent: Agent,
  inputs: ResolvedInputs,
  hash: string,
  configItems: { key: string; path: string }[],
): V1PodTemplateSpec {
  const name = agent.metadata.name!;
  const names = agentObjectNames(name);
  const spec = agent.spec;
  const overrides = spec.podTemplate;
  const persistent = spec.workspace?.persistent === true;
  const image = spec.image ?? DEFAULT_IMAGE;
  const restricted = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
  };
  const env: V1EnvVar[] = [
    ...Object.entries(GATEWAY_ENV).map(([key, value]) => ({ name: key, value })),
    { name: GATEWAY_TOKEN_ENV, valueFrom: { secretKeyRef: { name: names.tokenSecret, key: TOKEN_KEY } } },
    ...(inputs.extraEnv ?? []),
  ];
  const gateway: V1Container = {
    name: "gateway",
    image,
    workingDir: IMAGE_WORKDIR,
    args: gatewayArgs(),
    ports: [{ name: HTTP_PORT_NAME, containerPort: GATEWAY_PORT, protocol: "TCP" }],
    env,
    ...(spec.credentials && { envFrom: [{ secretRef: { name: spec.credentials.secretRef.name } }] }),
    resources: resources(spec.resources),
    startupProbe: httpProbe(STARTUP_PATH, { periodSeconds: 5, failureThreshold: 36 }),
    readinessProbe: httpProbe(READINESS_PATH, { periodSeconds: 5, failureThreshold: 3 }),
    livenessProbe: httpProbe(LIVENESS_PATH, { periodSeconds: 10, failureThreshold: 6 }),
    securityContext: restricted,
    volumeMounts: [
      { name: "home", mountPath: HOME_DIR },
      { name: "workspace", mountPath: WORKSPACE_DIR },
      { name: "tmp", mountPath: TMP_DIR },
    ],
  };
  const init: V1Container = {
    name: "config",
    image,
    command: [...INIT_COMMAND],
    env: [{ name: "HOME", value: HOME_DIR }],
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
    securityContext: restricted,
    volumeMounts: [
      { name: "config", mountPath: CONFIG_DIR, readOnly: true },
      { name: "home", mountPath: HOME_DIR },
      { name: "workspace", mountPath: WORKSPACE_DIR },
    ],
  };
  const volumes: V1Volume[] = [
    { name: "config", configMap: { name: names.configMap, items: configItems, defaultMode: 0o444 } },
    { name: "home", emptyDir: {} },
    { name: "tmp", emptyDir: { sizeLimit: TMP_SIZE_LIMIT } },
    ...(persistent ? [] : [{ name: "workspace", emptyDir: {} }]),
  ];
  const podSpec: V1PodSpec = {
    serviceAccountName: names.serviceAccount,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: terminationGraceSeconds(agent.spec.timeoutSeconds),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: IMAGE_USER_ID,
      runAsGroup: IMAGE_GROUP_ID,
      fsGroup: IMAGE_GROUP_ID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    initContainers: [init],
    containers: [gateway],
    volumes,
    ...(overrides?.nodeSelector && { nodeSelector: overrides.nodeSelector }),
    ...(overrides?.tolerations && { tolerations: overrides.tolerations }),
    ...(overrides?.affinity && { affinity: overrides.affinity }),
    ...(overrides?.priorityClassName && { priorityClassName: overrides.priorityClassName }),
  };
  // Only the operator marks delegators: the operator's NetworkPolicy admits them to the delegation endpoint.
  const { [LABEL_DELEGATOR]: _ignored, ...userLabels } = overrides?.metadata?.labels ?? {};
  return {
    metadata: {
      // Our labels and the config hash win over podTemplate overrides: the selector and rollouts depend on them.
      labels: { ...userLabels, ...AGENT_KIND.labels(name), ...(inputs.team && { [LABEL_DELEGATOR]: "true" }) },
      annotations: { ...overrides?.metadata?.annotations, [ANNOTATION_CONFIG_HASH]: hash },
    },
    spec: podSpec,
  };
}

function httpProbe(path: string, timing: { periodSeconds: number; failureThreshold: number }) {
  return { httpGet: { path, port: HTTP_PORT_NAME }, timeoutSeconds: 3, ...timing };
}

/** spec.resources replaces the defaults key by key: a request for cpu alone keeps the memory defaults. */
function resources(custom: Agent["spec"]["resources"]): V1ResourceRequirements {
  const pick = (defaults: Record<string, string> | undefined, given: Record<string, string | number> | undefined) => {
    const merged: Record<string, string> = { ...defaults };
    for (const [key, value] of Object.entries(given ?? {})) merged[key] = String(value);
    return merged;
  };
  return {
    requests: pick(DEFAULT_RESOURCES.requests, custom?.requests),
    limits: pick(DEFAULT_RESOURCES.limits, custom?.limits),
  };
}
