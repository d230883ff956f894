import { z } from "zod";
import { GATEWAY_TOKEN_ENV } from "../openclaw/pod-layout.ts";
import {
  type CelRule,
  cel,
  conditions,
  freeFormObject,
  identifier,
  ObjectMeta,
  objectName,
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

// The gateway's own token must never be sent to a provider as its API key.
const GATEWAY_TOKEN_MESSAGE = `must not be ${GATEWAY_TOKEN_ENV}: that is the gateway's own token, not a provider key`;

const envVarName = z
  .string()
  .max(128)
  .regex(/^[A-Z][A-Z0-9_]*$/, "must be an upper-case environment variable name");

export const ProviderModel = z.object({
  id: z.string().min(1).max(256),
  name: z.string().max(256).optional(),
  contextWindow: z.int().min(1).max(100_000_000).optional(),
  maxTokens: z.int().min(1).max(100_000_000).optional(),
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
    .describe("Base URL of the provider's API."),
  api: z.enum(PROVIDER_APIS).describe("Wire protocol of the provider."),
  apiKeyEnv: cel(
    envVarName.refine((name) => name !== GATEWAY_TOKEN_ENV, GATEWAY_TOKEN_MESSAGE),
    { rule: `self != '${GATEWAY_TOKEN_ENV}'`, message: GATEWAY_TOKEN_MESSAGE },
  )
    .optional()
    .describe("Environment variable (from the credentials Secret) holding the API key; never inline."),
  models: z
    .array(ProviderModel)
    .min(1)
    .max(64)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"] }),
});

export const Model = z.object({
  primary: modelRef.describe("The model every turn uses first, as provider/model."),
  fallbacks: z.array(modelRef).max(8).optional().describe("Models tried in order when the primary fails."),
  providers: z
    .array(ModelProvider)
    .max(16)
    .optional()
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
    .describe("Custom OpenAI-compatible or other providers, merged with OpenClaw's built-in ones."),
});

export const Skill = z.object({
  name: identifier.describe("Directory name under skills/."),
  content: utf8Text(MAX_SKILL_BYTES).min(1).describe("The SKILL.md text, including its front matter."),
});

export const ConfigMapKeyRef = z.object({
  name: objectName,
  key: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[-._a-zA-Z0-9]+$/, "must be a valid ConfigMap key"),
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

export const Scaling = cel(
  z.object({
    minReplicas: z.int().min(0).max(1000).default(0),
    maxReplicas: z.int().min(1).max(1000),
    targetPendingPerReplica: z
      .int()
      .min(1)
      .max(10000)
      .default(1)
      .describe("Pending delegations one replica should absorb before the swarm grows."),
    scaleDownDelaySeconds: z.int().min(0).max(86400).default(300),
    mode: z
      .enum(["Operator", "External"])
      .default("Operator")
      .describe("Operator: clawcrew scales on pending delegations. External: an HPA or KEDA owns spec.replicas."),
  }),
  { rule: "self.minReplicas <= self.maxReplicas", message: "scaling.minReplicas must not exceed scaling.maxReplicas" },
);

export const Workspace = z.object({
  persistent: z.boolean().default(false),
  size: quantity.optional().describe("Size of each replica's volume. Default 1Gi."),
  storageClassName: objectName.optional(),
});

const labelMap = z.record(z.string().max(317), z.string().max(63)).meta({ maxProperties: 64 });
const annotationMap = z.record(z.string().max(317), z.string().max(65536)).meta({ maxProperties: 64 });

export const Toleration = z.object({
  key: z.string().max(317).optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: z.string().max(63).optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
  tolerationSeconds: z.int().optional(),
});

export const PodTemplateOverrides = z.object({
  metadata: z
    .object({
      labels: labelMap.optional(),
      annotations: annotationMap.optional(),
    })
    .optional(),
  nodeSelector: labelMap.optional(),
  tolerations: z.array(Toleration).max(32).optional(),
  affinity: freeFormObject("core/v1 Affinity, applied to the agent's pods as written.").optional(),
  priorityClassName: objectName.optional(),
});

export const AgentSpec = cel(
  z.object({
    description: z
      .string()
      .max(1024)
      .regex(/^[^\n\r]*$/, "must be a single line")
      .optional()
      .describe("The one line a lead sees about this agent."),
    capabilities: z
      .array(identifier)
      .max(32)
      .optional()
      .meta({ "x-kubernetes-list-type": "set" })
      .describe("What this agent can do; delegations by capability are routed on these."),
    soul: utf8Text(MAX_PERSONA_BYTES).min(1).optional().describe("The persona, written to SOUL.md."),
    soulFrom: z
      .object({ configMapKeyRef: ConfigMapKeyRef })
      .optional()
      .describe("Read SOUL.md from a ConfigMap key instead of spec.soul."),
    instructions: utf8Text(MAX_PERSONA_BYTES).optional().describe("Operating instructions, written to AGENTS.md."),
    skills: z
      .array(Skill)
      .max(16)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] }),
    model: Model,
    credentials: z
      .object({ secretRef: z.object({ name: objectName }) })
      .optional()
      .describe("A Secret whose keys become the pod's environment, such as provider API keys."),
    image: z
      .string()
      .max(512)
      .regex(/^[^\s]+$/, "must be an image reference without whitespace")
      .optional()
      .describe("OpenClaw image. Defaults to the version this operator was built and tested against."),
    replicas: z.int().min(0).max(1000).default(1),
    scaling: Scaling.optional(),
    maxConcurrentTasks: z.int().min(1).max(64).default(4).describe("Delegations one replica works on at once."),
    timeoutSeconds: z.int().min(1).max(86400).default(600).describe("Longest time one task may run."),
    resources: cel(ResourceRequirements, ...mergedResourceRules())
      .optional()
      .describe(
        `The gateway container's resources, merged key by key over the defaults (requests ${defaultsText("requests")}; limits ${defaultsText("limits")}).`,
      ),
    workspace: Workspace.optional(),
    config: freeFormObject("A raw openclaw.json overlay, merged over the rendered configuration.").optional(),
    podTemplate: PodTemplateOverrides.optional(),
  }),
  {
    rule: "has(self.soul) != has(self.soulFrom)",
    message: "exactly one of spec.soul or spec.soulFrom must be set",
  },
);

export const AgentStatus = z.object({
  observedGeneration: z.int().min(0).optional(),
  conditions: conditions.optional(),
  replicas: z.int().min(0).optional(),
  readyReplicas: z.int().min(0).optional(),
  selector: z.string().max(1024).optional().describe("Label selector of the agent's pods, for the scale subresource."),
  endpoint: z.string().max(2048).optional().describe("In-cluster URL of the agent's gateway Service."),
  configHash: z.string().max(128).optional(),
});

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
