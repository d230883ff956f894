import { z } from "zod";
import { agentRef, cel, conditions, freeFormObject, identifier, ObjectMeta, observedGeneration } from "./meta.ts";

export const TEAM_PATTERNS = ["hubAndSpoke", "pipeline", "federated", "swarm"] as const;
export type TeamPattern = (typeof TEAM_PATTERNS)[number];

export const TeamMember = z.object({
  agent: agentRef,
  role: z
    .string()
    .max(256)
    .optional()
    .describe("What the lead should use this member for, shown in its roster. Default: none."),
});

/** Members of a hubAndSpoke team, or of one group of a federated team. */
const MAX_MEMBERS = 64;
const MAX_GROUPS = 16;
/** The most agents a team can name: a federated lead, and each group's lead and members. */
export const MAX_TEAM_AGENTS = 1 + MAX_GROUPS * (1 + MAX_MEMBERS);

export const TeamGroup = cel(
  z.object({
    name: identifier.describe("The group's name, such as a region; a lowercase DNS-1123 label."),
    lead: agentRef.describe("The group's lead; group leads may delegate to each other."),
    members: z
      .array(agentRef)
      .max(MAX_MEMBERS)
      .optional()
      .meta({ "x-kubernetes-list-type": "set" })
      .describe("Agents that receive work from this group's lead."),
  }),
  {
    rule: "!has(self.members) || !(self.lead in self.members)",
    message: "a group's lead must not also be listed in its members",
  },
);

export const DelegationPolicy = z.object({
  maxDepth: z
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe("Longest chain of delegations through spec.parent; a deeper one is refused. Default 3."),
  defaultTimeoutSeconds: z
    .int()
    .min(1)
    .max(86400)
    .default(600)
    .describe(
      "Timeout of the team's Delegations that set no spec.timeoutSeconds, in seconds from creation (queueing and every attempt). Default 600.",
    ),
  maxAttempts: z
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe("Attempts of the team's Delegations that set no spec.maxAttempts, the first included. Default 3."),
  ttlSecondsAfterFinished: z
    .int()
    .min(0)
    .max(30 * 86400)
    .default(86400)
    .describe(
      "Finished Delegations of the team are deleted this many seconds after completion, unless they set their own. Default 86400 (a day).",
    ),
});

export const AgentTeamSpec = cel(
  z.object({
    pattern: z
      .enum(TEAM_PATTERNS)
      .describe(
        "How work flows through the team: hubAndSpoke (lead to members), pipeline (stage to stage), federated (lead to group leads to their members) or swarm (replicas of one member).",
      ),
    lead: agentRef
      .optional()
      .describe("The agent that takes requests and delegates them; required for hubAndSpoke and federated."),
    members: z
      .array(TeamMember)
      .max(MAX_MEMBERS)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["agent"] })
      .describe(
        "The agents the lead delegates to, by agent (up to 64); hubAndSpoke needs at least one, swarm exactly one.",
      ),
    stages: z
      .array(agentRef)
      .max(16)
      .optional()
      .meta({ "x-kubernetes-list-type": "set" })
      .describe(
        "Pipeline stages in order (2 to 16, pattern pipeline only); each stage's output is the next one's input.",
      ),
    groups: z
      .array(TeamGroup)
      .max(MAX_GROUPS)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("Groups of a federated team, by name (1 to 16), each with its own lead and members."),
    delegation: DelegationPolicy.prefault({}).describe(
      "Limits on the team's Delegations: depth, timeout, attempts and how long finished ones are kept.",
    ),
    networkIsolation: z
      .boolean()
      .default(true)
      .describe("Compile NetworkPolicies so that only the topology's edges can carry traffic. Default true."),
    networkEgress: z
      .array(freeFormObject("A core/v1 NetworkPolicyEgressRule."))
      .max(16)
      .optional()
      .describe(
        "Egress the team's agents may use (DNS, LLM APIs), up to 16 rules; replaces the operator's default (--agent-egress, else DNS and HTTPS anywhere).",
      ),
  }),
  {
    rule: "!(self.pattern in ['hubAndSpoke', 'federated']) || has(self.lead)",
    message: "spec.lead is required for pattern hubAndSpoke and federated",
    fieldPath: ".lead",
    reason: "FieldValueRequired",
  },
  {
    rule: "self.pattern != 'hubAndSpoke' || (has(self.members) && size(self.members) >= 1)",
    message: "pattern hubAndSpoke needs at least one entry in spec.members",
    fieldPath: ".members",
    reason: "FieldValueRequired",
  },
  {
    rule: "self.pattern != 'pipeline' || (has(self.stages) && size(self.stages) >= 2)",
    message: "pattern pipeline needs at least 2 spec.stages",
    fieldPath: ".stages",
  },
  {
    rule: "self.pattern == 'pipeline' || !has(self.stages)",
    message: "spec.stages is only valid for pattern pipeline",
    fieldPath: ".stages",
    reason: "FieldValueForbidden",
  },
  {
    rule: "self.pattern != 'federated' || (has(self.groups) && size(self.groups) >= 1)",
    message: "pattern federated needs at least one entry in spec.groups",
    fieldPath: ".groups",
    reason: "FieldValueRequired",
  },
  {
    rule: "self.pattern == 'federated' || !has(self.groups)",
    message: "spec.groups is only valid for pattern federated",
    fieldPath: ".groups",
    reason: "FieldValueForbidden",
  },
  {
    rule: "self.pattern != 'swarm' || (has(self.members) && size(self.members) == 1)",
    message: "pattern swarm needs exactly one entry in spec.members: the Agent whose replicas form the swarm",
    fieldPath: ".members",
  },
  {
    rule: "!has(self.lead) || !has(self.members) || !self.members.exists(m, m.agent == self.lead)",
    message: "spec.lead must not also be listed in spec.members",
    fieldPath: ".members",
  },
  {
    rule: "!has(self.lead) || !has(self.groups) || !self.groups.exists(g, has(g.members) && self.lead in g.members)",
    message: "spec.lead must not also be a member of a group",
    fieldPath: ".groups",
  },
).describe("The desired team: its pattern, who leads, who works and the limits on delegating.");

export const MemberStatus = z.object({
  agent: agentRef,
  ready: z.boolean().describe("Whether the Agent exists and its Ready condition is True."),
  readyReplicas: z.int().min(0).optional().describe("The Agent's ready gateway pods."),
  message: z
    .string()
    .max(1024)
    .optional()
    .describe("The member in words, such as 2/2 replicas ready or Not ready: 0/2 replicas ready."),
});

export const AgentTeamStatus = z
  .object({
    observedGeneration,
    conditions: conditions.optional(),
    members: z
      .array(MemberStatus)
      .max(MAX_TEAM_AGENTS)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["agent"] })
      .describe("Every agent the team names (lead, members, stages, group leads), with its readiness."),
    readyMembers: z.string().max(32).optional().describe("Ready over total, such as 2/3."),
  })
  .describe("The observed state of the team, written by the operator.");

export const AgentTeam = z.object({
  apiVersion: z.string(),
  kind: z.literal("AgentTeam"),
  metadata: ObjectMeta,
  spec: AgentTeamSpec,
  status: AgentTeamStatus.optional(),
});

export type AgentTeamSpec = z.infer<typeof AgentTeamSpec>;
export type AgentTeamStatus = z.infer<typeof AgentTeamStatus>;
export type AgentTeam = z.infer<typeof AgentTeam>;
