/**
 * What a cluster admin lets an Agent ask for, from the operator's flags: which images, whether the
 * Secrets and ConfigMaps it names must be labelled readable by agents, and which scheduling fields of
 * spec.podTemplate. A spec outside the policy is refused before anything is read or written.
 */
import type { Agent } from "../api/agent.ts";
import { DEFAULT_IMAGE } from "../openclaw/version.ts";

/** The label a Secret or ConfigMap needs, when the policy requires it, before an Agent may use it. */
export const AGENT_READABLE_LABEL = "clawcrew.io/agent-readable";

export interface AgentPolicy {
  /**
   * Image patterns an Agent's spec.image may match besides OpenClaw's own repository (always allowed);
   * `*` matches any run of characters.
   */
  allowedImages: readonly string[];
  /** Secrets and ConfigMaps an Agent names must carry AGENT_READABLE_LABEL=true. */
  requireReadableLabel: boolean;
  /** Taint keys spec.podTemplate.tolerations may name; `*` allows every key (and a key-less toleration). */
  allowedTolerationKeys: readonly string[];
  /** Node label keys spec.podTemplate.nodeSelector may name; `*` allows every key. */
  allowedNodeSelectorKeys: readonly string[];
  /** Whether spec.podTemplate.affinity may be set. */
  allowAffinity: boolean;
  /** PriorityClasses spec.podTemplate.priorityClassName may name. */
  allowedPriorityClasses: readonly string[];
}

/** The repository of the OpenClaw image this operator renders for, any tag or digest: always allowed. */
const OPENCLAW_REPOSITORY = DEFAULT_IMAGE.slice(0, DEFAULT_IMAGE.lastIndexOf(":"));
export const OPENCLAW_IMAGES = [`${OPENCLAW_REPOSITORY}:*`, `${OPENCLAW_REPOSITORY}@*`];

/**
 * Where no flag says otherwise: OpenClaw's images only, referenced objects need no label, scheduling
 * fields are open (they place only the tenant's own pods, as a pod they create could), and no
 * priorityClassName (a priority preempts other tenants' pods).
 */
export const DEFAULT_AGENT_POLICY: AgentPolicy = {
  allowedImages: [],
  requireReadableLabel: false,
  allowedTolerationKeys: ["*"],
  allowedNodeSelectorKeys: ["*"],
  allowAffinity: true,
  allowedPriorityClasses: [],
};

/** A field of the spec the policy does not allow; the message names the field and the flag. */
export class PolicyViolationError extends Error {
  override readonly name = "PolicyViolationError";
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Whether `value` matches one of `patterns`, where `*` is any run of characters. */
export function matchesPattern(value: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
    return new RegExp(`^${source.join(".*")}$`).test(value);
  });
}

/** Throws PolicyViolationError for the first field of the spec the policy does not allow. */
export function checkAgentPolicy(agent: Agent, policy: AgentPolicy): void {
  const image = agent.spec.image;
  const images = [...OPENCLAW_IMAGES, ...policy.allowedImages];
  if (image !== undefined && !matchesPattern(image, images)) {
    throw new PolicyViolationError(
      "ImageNotAllowed",
      `spec.image ${image} matches none of the images this operator allows (${images.join(", ")}; --agent-allowed-images adds patterns)`,
    );
  }
  const template = agent.spec.podTemplate;
  if (!template) return;
  for (const [i, toleration] of (template.tolerations ?? []).entries()) {
    const key = toleration.key ?? "";
    const allowed = policy.allowedTolerationKeys.includes("*") || (key && policy.allowedTolerationKeys.includes(key));
    if (!allowed) {
      throw new PolicyViolationError(
        "PodTemplateNotAllowed",
        `spec.podTemplate.tolerations[${i}] tolerates ${key ? `taint key ${key}` : "every taint"}, which this operator does not allow (--agent-allowed-toleration-keys: ${listed(policy.allowedTolerationKeys)})`,
      );
    }
  }
  for (const key of Object.keys(template.nodeSelector ?? {})) {
    if (!matchesPattern(key, policy.allowedNodeSelectorKeys)) {
      throw new PolicyViolationError(
        "PodTemplateNotAllowed",
        `spec.podTemplate.nodeSelector[${key}] is not a node label this operator allows (--agent-allowed-node-selector-keys: ${listed(policy.allowedNodeSelectorKeys)})`,
      );
    }
  }
  if (template.affinity !== undefined && !policy.allowAffinity) {
    throw new PolicyViolationError(
      "PodTemplateNotAllowed",
      "spec.podTemplate.affinity is not allowed by this operator (--agent-allow-affinity=false)",
    );
  }
  const priority = template.priorityClassName;
  if (priority !== undefined && !policy.allowedPriorityClasses.includes(priority)) {
    throw new PolicyViolationError(
      "PodTemplateNotAllowed",
      `spec.podTemplate.priorityClassName ${priority} is not a PriorityClass this operator allows (--agent-allowed-priority-classes: ${listed(policy.allowedPriorityClasses)})`,
    );
  }
}

/** Throws PolicyViolationError when the policy requires the label and `obj` lacks it. */
export function checkReadable(
  obj: { metadata?: { labels?: Record<string, string> } },
  what: string,
  policy: AgentPolicy,
): void {
  if (!policy.requireReadableLabel || obj.metadata?.labels?.[AGENT_READABLE_LABEL] === "true") return;
  throw new PolicyViolationError(
    "NotAgentReadable",
    `${what} lacks the label ${AGENT_READABLE_LABEL}=true, which this cluster requires of what an Agent reads (--agent-require-readable-label); it was not read`,
  );
}

const listed = (values: readonly string[]) => (values.length ? values.join(", ") : "none");
