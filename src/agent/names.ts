/** Names and selector labels of the objects an Agent owns (see docs/naming.md). */
import { LABEL_AGENT } from "../api/labels.ts";

// src/delegation reads the agent label from here.
export { LABEL_AGENT };

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

/** The label selector string published in status.selector for the scale subresource. */
export const selectorString = (agent: string) => `${LABEL_AGENT}=${agent}`;
