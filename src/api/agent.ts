import { z } from "zod";
import { DELEGATION_TOKEN_ENV, GATEWAY_TOKEN_ENV, OPERATOR_TOKEN_ENVS } from "../openclaw/pod-layout.ts";
import { TOOL_ENTRY, TOOL_GROUPS, TOOL_PROFILES } from "../openclaw/tools.ts";
import { annotationMap, labelMap, taintKey } from "./label-maps.ts";
import {
  type CelRule,
  cel,
  conditions,
  freeFormObject,
  identifier,
  ObjectMeta,
  objectName,
  observedGeneration,
  quantity,
  ResourceRequirements,
  utf8Text,
} from "./meta.ts";

/** Largest SOUL.md, AGENTS.md or skill file; all of them together stay under a ConfigMap's 1 MiB. */
export const MAX_PERSONA_BYTES = 64 * 1024;
export const MAX_SKILL_BYTES = 32 * 1024;

/** OpenClaw's `provider/model` reference; the model part may itself contain slashes. */
const MODEL_REF = /^[a-z0-9][a-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._:@+/-]*$/;
const modelRef = z.string().max(256).regex(MODEL_REF, "must have the form provider/model");

/** Model APIs OpenClaw's custom providers speak. */
export const PROVIDER_APIS = [
  "openai-completions",
  "openai-responses",
  "anthropic-messages",
  "google-generative-ai",
  "ollama",
] as const;

// The operator's tokens must never be sent to a provider as its API key.
const TOKEN_ENV_MESSAGE = `must not be ${GATEWAY_TOKEN_ENV} or ${DELEGATION_TOKEN_ENV}: those are the agent's own tokens, not a provider key`;

const envVarName = z
  .string()
  .max(128)
  .regex(/^[A-Z][A-Z0-9_]*$/, "must be an upper-case environment variable name");

export const ProviderModel = z.object({
  id: z
    .string()
    .min(1)
    .max(256)
    .describe("The model's id at the provider: the part of a model reference after the slash."),
  name: z.string().max(256).optional().describe("Display name. Default: the id."),
  contextWindow: z
    .int()
    .min(1)
    .max(100_000_000)
    .optional()
    .describe("Largest prompt the model takes, in tokens. Default: OpenClaw's default for custom models."),
  maxTokens: z
    .int()
    .min(1)
    .max(100_000_000)
    .optional()
    .describe("Most tokens the model may generate in one reply. Default: OpenClaw's default for custom models."),
});

export const ModelProvider = z.object({
  name: identifier.describe("Provider name, the part of a model reference before the slash."),
  baseUrl: z
    .string()
    .max(2048)
    // No user:password@ in the authority: credentials belong in the credentials Secret.
    .regex(
      /^https?:\/\/[^\s/?#@]+([/?#]\S*)?$/,
      "must be an http(s) URL without user:password@; put the key in the credentials Secret and name it in apiKeyEnv",
    )
    .describe("Base URL of the provider's API, such as https://api.example.com/v1."),
  api: z.enum(PROVIDER_APIS).describe("Wire protocol the provider speaks."),
  apiKeyEnv: cel(
    envVarName.refine((name) => !OPERATOR_TOKEN_ENVS.includes(name), TOKEN_ENV_MESSAGE),
    { rule: `!(self in [${OPERATOR_TOKEN_ENVS.map((name) => `'${name}'`).join(", ")}])`, message: TOKEN_ENV_MESSAGE },
  )
    .optional()
    .describe(
      "Environment variable (a key of spec.credentials' Secret) holding the API key; the key is never written inline. Default: no key.",
    ),
  models: z
    .array(ProviderModel)
    .min(1)
    .max(64)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"] })
    .describe("The models this provider serves, by id (1 to 64)."),
});

export const Model = z.object({
  primary: modelRef.describe(
    "The model every turn uses first, as provider/model, such as anthropic/claude-sonnet-4-5.",
  ),
  fallbacks: z
    .array(modelRef)
    .max(8)
    .optional()
    .describe("Models tried in order when the primary fails, as provider/model (up to 8). Default: none."),
  providers: z
    .array(ModelProvider)
    .max(16)
    .optional()
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
    .describe("Custom OpenAI-compatible or other providers, by name, merged with OpenClaw's built-in ones (up to 16)."),
});

export const Skill = z.object({
  name: identifier.describe("Directory name under skills/ in the workspace, a lowercase DNS-1123 label."),
  content: utf8Text(MAX_SKILL_BYTES)
    .min(1)
    .describe(`The SKILL.md text, including its front matter; at most ${MAX_SKILL_BYTES / 1024} KiB of UTF-8.`),
});

export const ConfigMapKeyRef = z.object({
  name: objectName.describe("Name of a ConfigMap in the Agent's namespace."),
  key: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[-._a-zA-Z0-9]+$/, "must be a valid ConfigMap key")
    .describe("The key of the ConfigMap whose value is used."),
});

/**
 * The gateway's default resources, from OpenClaw's measured footprint: about 1.0-1.1 GiB idle and
 * 1.35 GiB after a few dozen turns; a 1 GiB limit OOMs at boot. spec.resources replaces them key by key.
 */
export const AGENT_DEFAULT_RESOURCES = {
  requests: { cpu: "250m", memory: "1280Mi" } as Record<string, string>,
  limits: { memory: "2Gi" } as Record<string, string>,
};

function defaultsText(kind: "requests" | "limits"): string {
  return Object.entries(AGENT_DEFAULT_RESOURCES[kind])
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

/**
 * After the key-by-key merge with the defaults, no request may exceed its limit: the API server would
 * refuse the Deployment with a 422 on every reconcile. `quantity()` compares 1Gi and 1024Mi correctly.
 */
function mergedResourceRules(): CelRule[] {
  const message = `a request exceeds its limit once merged with the defaults (requests ${defaultsText("requests")}; limits ${defaultsText("limits")}): raise the limit or lower the request`;
  const q = (field: "requests" | "limits", k: string) => `quantity(string(self.${field}['${k}']))`;
  const sets = (field: "requests" | "limits", k: string) => `has(self.${field}) && '${k}' in self.${field}`;
  // One small rule per resource and case keeps each within CEL's cost budget (a loop over the maps
  // does not fit). Extended resources need request == limit, which the API server checks itself.
  const rules: CelRule[] = ["cpu", "memory", "ephemeral-storage"].map((k) => ({
    rule: `!(${sets("requests", k)} && ${sets("limits", k)}) || ${q("requests", k)}.compareTo(${q("limits", k)}) <= 0`,
    message,
  }));
  for (const [k, request] of Object.entries(AGENT_DEFAULT_RESOURCES.requests)) {
    rules.push({
      rule: `!(${sets("limits", k)}) || ${sets("requests", k)} || quantity('${request}').compareTo(${q("limits", k)}) <= 0`,
      message,
    });
  }
  for (const [k, limit] of Object.entries(AGENT_DEFAULT_RESOURCES.limits)) {
    rules.push({
      rule: `!(${sets("requests", k)}) || ${sets("limits", k)} || ${q("requests", k)}.compareTo(quantity('${limit}')) <= 0`,
      message,
    });
  }
  return rules;
}

/** The agent pod's termination grace period covers timeoutSeconds plus this, so a turn can finish on a pod being removed. */
export const TERMINATION_GRACE_MARGIN_SECONDS = 30;
/** The longest termination grace period an agent pod gets, whatever its timeoutSeconds. */
export const MAX_TERMINATION_GRACE_SECONDS = 3600;

const SCALING_FORMULA =
  "desiredReplicas = clamp(ceil((queued + inFlight) / (maxConcurrentTasks + targetPendingPerReplica)), minReplicas, maxReplicas), and at least 1 while any delegation is queued or running";

export const Scaling = cel(
  z.object({
    minReplicas: z
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe("Fewest replicas; 0 scales to zero when no delegation is queued or running. Default 0."),
    maxReplicas: z.int().min(1).max(1000).describe("Most replicas the operator scales to; at least minReplicas."),
    targetPendingPerReplica: z
      .int()
      .min(1)
      .max(10000)
      .default(1)
      .describe(
        `Queued delegations one replica absorbs, beyond the maxConcurrentTasks it runs, before the swarm grows: ${SCALING_FORMULA}. At least 1. Default 1.`,
      ),
    scaleDownDelaySeconds: z
      .int()
      .min(0)
      .max(86400)
      .default(300)
      .describe(
        "How long, in seconds, the desired count must stay lower before replicas are removed: the swarm shrinks to the largest count desired within this window, never below its pods that are executing a delegation. Default 300.",
      ),
    mode: z
      .enum(["Operator", "External"])
      .default("Operator")
      .describe(
        "Operator: clawcrew writes spec.replicas through the scale subresource as queued and running delegations change (leave spec.replicas out of your manifests). External: an HPA or KEDA owns spec.replicas and clawcrew never writes it; it still reports status.scaling and the clawcrew_agent_* metrics. Default Operator.",
      ),
  }),
  { rule: "self.minReplicas <= self.maxReplicas", message: "scaling.minReplicas must not exceed scaling.maxReplicas" },
).describe(
  `Autoscaling of a swarm through the scale subresource, on its own delegations: ${SCALING_FORMULA}. Scale-up is immediate, scale-down waits scaleDownDelaySeconds. Not for an agent that leads a team. Default: off, spec.replicas is kept as written.`,
);

export const Workspace = z
  .object({
    persistent: z
      .boolean()
      .default(false)
      .describe(
        "Keep each replica's workspace on its own ReadWriteOnce volume (a StatefulSet); false keeps it in an emptyDir that goes with the pod. Default false.",
      ),
    size: quantity.optional().describe("Size of each replica's volume, in bytes such as 1Gi. Default 1Gi."),
    storageClassName: objectName
      .optional()
      .describe("StorageClass of the volumes. Default: the cluster's default StorageClass."),
  })
  .describe("The agent's working directory (SOUL.md, AGENTS.md, skills and the files it writes).");

const toolList = (what: string, fallback: string) =>
  z
    .array(
      z
        .string()
        .min(1)
        .max(128)
        .regex(TOOL_ENTRY, `must be a tool name, a * glob of names, or one of ${TOOL_GROUPS.join(", ")}`),
    )
    .min(1)
    .max(64)
    .meta({ "x-kubernetes-list-type": "set" })
    .describe(
      `${what}, 1 to 64 entries: OpenClaw tool names such as exec or web_search, * globs such as browser*, MCP tools as <server>__<tool>, or groups (${TOOL_GROUPS.join(", ")}); case-insensitive. ${fallback}`,
    );

export const Tools = cel(
  z.object({
    profile: z
      .enum(TOOL_PROFILES)
      .optional()
      .describe(
        "OpenClaw's base tool set before allow and alsoAllow: minimal, coding, messaging or full. Default: all core tools.",
      ),
    allow: toolList(
      "The only tools the model is offered and may call (deny still wins)",
      "Default: no allow-list.",
    ).optional(),
    alsoAllow: toolList("Tools added to the profile's set; not together with allow", "Default: none.").optional(),
    deny: toolList(
      "Tools the model is never offered and may not call, whatever allows them",
      "Default: none.",
    ).optional(),
  }),
  {
    rule: "!(has(self.allow) && has(self.alsoAllow))",
    message: "set tools.allow or tools.alsoAllow, not both: OpenClaw refuses both in one policy",
  },
).describe(
  "Which OpenClaw tools this agent's model is offered and may call, rendered as its tools policy in openclaw.json; other agents are not affected. A lead keeps its delegation tools under an allow-list or profile. Default: every tool of the OpenClaw release.",
);

/** core/v1 Toleration. */
export const Toleration = z.object({
  key: taintKey("spec.podTemplate.tolerations[].key")
    .optional()
    .describe("The taint key to tolerate; empty with operator Exists tolerates every taint."),
  operator: z
    .enum(["Exists", "Equal"])
    .optional()
    .describe("Exists or Equal (the taint's value equals value). Default Equal."),
  value: z.string().max(63).optional().describe("The taint value to match with operator Equal."),
  effect: z
    .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
    .optional()
    .describe("The taint effect to tolerate. Default: every effect."),
  tolerationSeconds: z
    .int()
    .optional()
    .describe(
      "With effect NoExecute, how long in seconds the pod stays bound after the taint appears. Default: forever.",
    ),
});

export const PodTemplateOverrides = z
  .object({
    metadata: z
      .object({
        labels: labelMap("spec.podTemplate.metadata.labels")
          .optional()
          .describe("Extra labels on the agent's pods; the operator's own labels win over them."),
        annotations: annotationMap("spec.podTemplate.metadata.annotations")
          .optional()
          .describe("Extra annotations on the agent's pods; the operator's config-hash annotation wins over them."),
      })
      .optional()
      .describe("Labels and annotations added to the agent's pods."),
    nodeSelector: labelMap("spec.podTemplate.nodeSelector")
      .optional()
      .describe("core/v1 nodeSelector of the agent's pods: node labels they must run on."),
    tolerations: z.array(Toleration).max(32).optional().describe("Taints the agent's pods tolerate (up to 32)."),
    affinity: freeFormObject("core/v1 Affinity, applied to the agent's pods as written.").optional(),
    priorityClassName: objectName
      .optional()
      .describe("PriorityClass of the agent's pods. Default: the cluster's default priority."),
  })
  .describe("Scheduling and metadata for the agent's pods; the operator sets everything else in the pod.");

export const AgentSpec = cel(
  z.object({
    description: z
      .string()
      .max(1024)
      .regex(/^[^\n\r]*$/, "must be a single line")
      .optional()
      .describe("The one line a lead sees about this agent in its team roster."),
    capabilities: z
      .array(identifier)
      .max(32)
      .optional()
      .meta({ "x-kubernetes-list-type": "set" })
      .describe(
        "What this agent can do, as lowercase labels (up to 32); delegations by capability are routed on these.",
      ),
    soul: utf8Text(MAX_PERSONA_BYTES)
      .min(1)
      .optional()
      .describe(
        `The persona, written to SOUL.md; at most ${MAX_PERSONA_BYTES / 1024} KiB of UTF-8. Exactly one of soul and soulFrom is set.`,
      ),
    soulFrom: z
      .object({
        configMapKeyRef: ConfigMapKeyRef.describe(
          "The ConfigMap key that holds SOUL.md; a missing one sets ConfigValid False.",
        ),
      })
      .optional()
      .describe("Read SOUL.md from a ConfigMap key instead of spec.soul; editing the ConfigMap rolls the pods."),
    instructions: utf8Text(MAX_PERSONA_BYTES)
      .optional()
      .describe(
        `Operating instructions, written to AGENTS.md; at most ${MAX_PERSONA_BYTES / 1024} KiB of UTF-8. Default: none.`,
      ),
    skills: z
      .array(Skill)
      .max(16)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("Skills written to skills/<name>/SKILL.md in the workspace, by name (up to 16)."),
    model: Model.describe("The models the agent's turns use, and custom providers."),
    tools: Tools.optional(),
    credentials: z
      .object({
        secretRef: z
          .object({ name: objectName.describe("Name of a Secret in the Agent's namespace.") })
          .describe("The Secret; rotating its data rolls the pods."),
      })
      .optional()
      .describe("A Secret whose keys become the pod's environment, such as provider API keys. Default: none."),
    image: z
      .string()
      .max(512)
      .regex(/^[^\s]+$/, "must be an image reference without whitespace")
      .optional()
      .describe("OpenClaw image. Default: the OpenClaw release this operator was built and tested against."),
    replicas: z
      .int()
      .min(0)
      .max(1000)
      .default(1)
      .describe(
        "How many gateway pods run; with spec.scaling mode Operator the operator owns it (do not set it in manifests), with mode External an HPA or KEDA does. At 0 without spec.scaling, a Delegation to the agent fails at once. Default 1.",
      ),
    scaling: Scaling.optional(),
    maxConcurrentTasks: z
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe("Delegations one replica works on at once; more wait in the queue. Default 4."),
    timeoutSeconds: z
      .int()
      .min(1)
      .max(86400)
      .default(600)
      .describe(
        `Longest time one turn of the agent may run, in seconds; also the timeout of a Delegation to it outside a team. A pod being removed gets this plus ${TERMINATION_GRACE_MARGIN_SECONDS} s to finish its turns (its terminationGracePeriodSeconds, at least 60 and at most ${MAX_TERMINATION_GRACE_SECONDS}). Default 600.`,
      ),
    resources: cel(ResourceRequirements, ...mergedResourceRules())
      .optional()
      .describe(
        `The gateway container's resources, merged key by key over the defaults (requests ${defaultsText("requests")}; limits ${defaultsText("limits")}).`,
      ),
    workspace: Workspace.optional(),
    config: freeFormObject(
      "A raw openclaw.json overlay, merged over the rendered configuration; keys the operator owns are refused (ConfigValid False). Default: none.",
    ).optional(),
    podTemplate: PodTemplateOverrides.optional(),
  }),
  {
    rule: "has(self.soul) != has(self.soulFrom)",
    message: "exactly one of spec.soul or spec.soulFrom must be set",
  },
).describe("The desired state of the agent: its persona, model, skills, replicas and pods.");

export const ScalingStatus = z
  .object({
    desiredReplicas: z.int().min(0).describe("Replicas the formula asks for now (before the scale-down delay)."),
    queued: z.int().min(0).describe("Delegations to this agent waiting for a free slot."),
    inFlight: z.int().min(0).describe("Delegations this agent is working on."),
    lastScaleTime: z
      .string()
      .optional()
      .describe("When the operator last changed spec.replicas (RFC 3339); absent with mode External."),
  })
  .describe("The numbers behind the swarm's size, written by the operator's autoscaler while spec.scaling is set.");

export const AgentStatus = z
  .object({
    observedGeneration,
    conditions: conditions.optional(),
    replicas: z.int().min(0).optional().describe("Gateway pods that exist, of any revision."),
    readyReplicas: z.int().min(0).optional().describe("Gateway pods that are ready to take delegations."),
    selector: z
      .string()
      .max(1024)
      .optional()
      .describe("Label selector of the agent's pods, for the scale subresource."),
    endpoint: z.string().max(2048).optional().describe("In-cluster URL of the agent's gateway Service."),
    configHash: z
      .string()
      .max(128)
      .optional()
      .describe("Hash of the rendered files and the credentials Secret's version that the pods run with."),
    scaling: ScalingStatus.optional(),
  })
  .describe("The observed state of the agent, written by the operator.");

export const Agent = z.object({
  apiVersion: z.string(),
  kind: z.literal("Agent"),
  metadata: ObjectMeta,
  spec: AgentSpec,
  status: AgentStatus.optional(),
});

export type AgentSpec = z.infer<typeof AgentSpec>;
export type AgentStatus = z.infer<typeof AgentStatus>;
export type Agent = z.infer<typeof Agent>;
