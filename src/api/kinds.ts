import type { z } from "zod";
import { AgentSpec, AgentStatus } from "./agent.ts";
import { DelegationSpec, DelegationStatus } from "./delegation.ts";
import { type CelRule, MAX_DERIVING_NAME_LENGTH } from "./meta.ts";
import { AgentTeamSpec, AgentTeamStatus } from "./team.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** Everything that describes one kind of clawcrew resource to the API server. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  /** CEL rules on the whole object, for rules about metadata. */
  objectRules: CelRule[];
  printerColumns: PrinterColumn[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

export const CATEGORY = "clawcrew";

const DNS1035 = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
const DNS1123 = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

function nameRules(kind: string, max: number, pattern: string, form: string): CelRule[] {
  const aKind = `${/^[AEIOU]/.test(kind) ? "an" : "a"} ${kind}`;
  return [
    {
      rule: `self.metadata.name.size() <= ${max}`,
      message: `metadata.name must be at most ${max} characters: the names of the objects derived from ${aKind} must stay within Kubernetes' limits`,
    },
    {
      rule: `self.metadata.name.matches('${pattern}')`,
      message: `metadata.name must be a ${form} (lowercase letters, digits and '-') for ${aKind}`,
    },
  ];
}

const readyColumn: PrinterColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: "The Ready condition: True, False or Unknown.",
};
const readyReasonColumn: PrinterColumn = {
  name: "Reason",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  description: "Why the object is or is not Ready.",
  priority: 1,
};
const ageColumn: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since the object was created.",
};

export const AGENT: KindDefinition = {
  kind: "Agent",
  plural: "agents",
  singular: "agent",
  shortNames: ["cca", "clawagent"],
  description: "Agent is one specialised OpenClaw gateway, or a swarm of identical replicas of it.",
  spec: AgentSpec,
  status: AgentStatus,
  objectRules: [
    ...nameRules("Agent", MAX_DERIVING_NAME_LENGTH, DNS1035, "DNS-1035 label"),
    {
      rule: "self.metadata.name != 'default'",
      message:
        "metadata.name must not be 'default': an Agent's ServiceAccount takes its name, and every namespace already has ServiceAccount default",
    },
  ],
  printerColumns: [
    // As a Deployment's or Argo Rollout's: desired, existing and ready pods side by side. Queued and
    // in-flight Delegations are in status only for a scaled Agent (status.scaling, written at most once a
    // second); for the others read the gauges clawcrew_delegations_queued and clawcrew_delegations_in_flight.
    { name: "Desired", type: "integer", jsonPath: ".spec.replicas", description: "Gateway pods wanted." },
    { name: "Current", type: "integer", jsonPath: ".status.replicas", description: "Gateway pods that exist." },
    {
      name: "Available",
      type: "integer",
      jsonPath: ".status.readyReplicas",
      description: "Gateway pods ready to take delegations.",
    },
    {
      name: "Queued",
      type: "integer",
      jsonPath: ".status.scaling.queued",
      description: "Delegations waiting for a slot (an Agent with spec.scaling).",
    },
    {
      name: "In-Flight",
      type: "integer",
      jsonPath: ".status.scaling.inFlight",
      description: "Delegations running on its pods (an Agent with spec.scaling).",
    },
    { name: "Model", type: "string", jsonPath: ".spec.model.primary", description: "The primary model." },
    readyColumn,
    readyReasonColumn,
    {
      name: "Endpoint",
      type: "string",
      jsonPath: ".status.endpoint",
      description: "In-cluster URL of the gateway Service.",
      priority: 1,
    },
    ageColumn,
  ],
  scale: {
    specReplicasPath: ".spec.replicas",
    statusReplicasPath: ".status.replicas",
    labelSelectorPath: ".status.selector",
  },
};

export const AGENT_TEAM: KindDefinition = {
  kind: "AgentTeam",
  plural: "agentteams",
  singular: "agentteam",
  shortNames: ["cct", "clawteam"],
  description: "AgentTeam wires a lead and its member Agents together by a delegation pattern.",
  spec: AgentTeamSpec,
  status: AgentTeamStatus,
  objectRules: nameRules("AgentTeam", MAX_DERIVING_NAME_LENGTH, DNS1035, "DNS-1035 label"),
  printerColumns: [
    { name: "Pattern", type: "string", jsonPath: ".spec.pattern", description: "How work flows through the team." },
    { name: "Lead", type: "string", jsonPath: ".spec.lead", description: "The agent that takes requests." },
    { name: "Members", type: "string", jsonPath: ".status.readyMembers", description: "Ready members over all." },
    readyColumn,
    readyReasonColumn,
    ageColumn,
  ],
};

export const DELEGATION: KindDefinition = {
  kind: "Delegation",
  plural: "delegations",
  singular: "delegation",
  shortNames: ["ccd", "clawtask"],
  description: "Delegation is one task handed to an agent; its status records who did it, each attempt and the result.",
  spec: DelegationSpec,
  status: DelegationStatus,
  objectRules: [
    ...nameRules("Delegation", 63, DNS1123, "DNS-1123 label"),
    {
      rule: "!has(self.spec.parent) || self.spec.parent != self.metadata.name",
      message: "a Delegation cannot be its own parent",
      fieldPath: ".spec.parent",
    },
  ],
  printerColumns: [
    { name: "Team", type: "string", jsonPath: ".spec.team", description: "The team that routes the task." },
    { name: "Agent", type: "string", jsonPath: ".status.agent", description: "The Agent doing the task." },
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Pending, Running, Succeeded or Failed." },
    { name: "Reason", type: "string", jsonPath: ".status.reason", description: "Why it is in its phase." },
    // Attempts are numbered from 1 and never renumbered: the last one's number is how many were made.
    {
      name: "Attempts",
      type: "integer",
      jsonPath: ".status.attempts[-1:].number",
      description: "Attempts made so far.",
    },
    // A column cannot subtract two times: the operator writes status.duration when the Delegation finishes.
    {
      name: "Duration",
      type: "string",
      jsonPath: ".status.duration",
      description: "How long it ran, once finished.",
    },
    {
      name: "Started",
      type: "date",
      jsonPath: ".status.startTime",
      description: "Time since the first attempt started.",
    },
    {
      name: "Finished",
      type: "date",
      jsonPath: ".status.completionTime",
      description: "Time since the Delegation finished.",
    },
    {
      name: "From",
      type: "string",
      jsonPath: ".spec.from",
      description: "The Agent that delegated the task.",
      priority: 1,
    },
    {
      name: "Pod",
      type: "string",
      jsonPath: ".status.pod",
      description: "The gateway pod of the latest attempt.",
      priority: 1,
    },
    {
      name: "Trace",
      type: "string",
      jsonPath: ".status.traceID",
      description: "The trace ID of the Delegation's span, when the operator exports traces.",
      priority: 1,
    },
    ageColumn,
  ],
};

export const KINDS: readonly KindDefinition[] = [AGENT, AGENT_TEAM, DELEGATION];
