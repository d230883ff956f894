/** Names and labels of the objects an Agent owns (see docs/naming.md). */

export const LABEL_AGENT = "clawcrew.io/agent";
export const ANNOTATION_CONFIG_HASH = "clawcrew.io/config-hash";
/** On the pods of an agent that delegates in some team; the operator's NetworkPolicy admits them to its endpoint. */
export const LABEL_DELEGATOR = "clawcrew.io/delegator";

export const agentObjectNames = (agent: string) => ({
  workload: agent,
  service: agent,
  serviceAccount: agent,
  podDisruptionBudget: agent,
  configMap: `${agent}-config`,
  tokenSecret: `${agent}-token`,
  workspaceClaim: "workspace",
});

/** The selector of an agent's pods; immutable once a Deployment exists. */
export const selectorLabels = (agent: string) => ({ [LABEL_AGENT]: agent });

/** Labels on every object an Agent owns. */
export const agentLabels = (agent: string) => ({
  "app.kubernetes.io/name": "openclaw",
  "app.kubernetes.io/instance": agent,
  "app.kubernetes.io/component": "agent",
  "app.kubernetes.io/managed-by": "clawcrew",
  "app.kubernetes.io/part-of": "clawcrew",
  ...selectorLabels(agent),
});

/** The label selector string published in status.selector for the scale subresource. */
export const selectorString = (agent: string) => `${LABEL_AGENT}=${agent}`;
