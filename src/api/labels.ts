/**
 * The label and annotation keys the operator puts on objects and reads back, defined once. What each
 * kind puts on the objects derived from it is `labels(name)` of its entry in registry.ts.
 */

export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const LABEL_PART_OF = "app.kubernetes.io/part-of";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_INSTANCE = "app.kubernetes.io/instance";
export const CLAWCREW = "clawcrew";

/** On every object the operator creates: its caches of built-in kinds select on it (MANAGED_BY_SELECTOR). */
export const MANAGED_BY = { [LABEL_MANAGED_BY]: CLAWCREW } as const;
export const MANAGED_BY_SELECTOR = `${LABEL_MANAGED_BY}=${CLAWCREW}`;

/** The Agent an object belongs to; on pods it is the selector of the agent's workload. */
export const LABEL_AGENT = "clawcrew.io/agent";
/** The AgentTeam an object belongs to, or a Delegation was routed through. */
export const LABEL_TEAM = "clawcrew.io/team";
/** On result ConfigMaps: the Delegation they belong to. */
export const LABEL_DELEGATION = "clawcrew.io/delegation";
/** On Delegations: the Agent that delegated them. */
export const LABEL_FROM = "clawcrew.io/from";
/** On pipeline children: the stage index. */
export const LABEL_STAGE = "clawcrew.io/stage";
/** On the pods of an agent that delegates in some team; the operator's NetworkPolicy admits them to its endpoint. */
export const LABEL_DELEGATOR = "clawcrew.io/delegator";

/** On an agent's pod template: a changed configuration rolls the pods. */
export const ANNOTATION_CONFIG_HASH = "clawcrew.io/config-hash";
/** `"true"` cancels a Delegation and keeps a Failed/Cancelled record. */
export const ANNOTATION_CANCEL = "clawcrew.io/cancel";
/**
 * Set by the delegation endpoint on the Delegations it creates after admitting them: the agents the
 * Delegation may go to, best first. Only the operator may set it (the chart's admission policy).
 */
export const ANNOTATION_ADMITTED = "clawcrew.io/admitted-candidates";
/**
 * The W3C traceparent of the span a Delegation's span is a child of, set when it is created (by the
 * delegation endpoint, the pipeline runner, or a person); see docs/tracing.md.
 */
export const ANNOTATION_TRACEPARENT = "clawcrew.io/traceparent";
