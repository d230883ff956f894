import { z } from "zod";
import { agentRef, cel, conditions, identifier, ObjectMeta, objectName, utf8Text } from "./meta.ts";

/** Largest task text, in bytes of UTF-8. */
export const MAX_TASK_BYTES = 64 * 1024;
/** Largest task and context together: a Delegation stays far below etcd's 1.5 MiB object limit. */
export const MAX_INPUT_BYTES = 128 * 1024;
/** Largest result kept inline in status; longer results go to the ConfigMap named by status.resultRef. */
export const MAX_INLINE_RESULT_BYTES = 16 * 1024;

export const DELEGATION_PHASES = ["Pending", "Running", "Succeeded", "Failed"] as const;
export type DelegationPhase = (typeof DELEGATION_PHASES)[number];

/** status.reason of a finished Delegation. Not an enum in the CRD, so new reasons stay compatible. */
export const DELEGATION_REASONS = [
  "Completed",
  "TimedOut",
  "Rejected",
  "Cancelled",
  "AgentUnavailable",
  "AgentError",
  "StageOutputTooLarge",
] as const;
export type DelegationReason = (typeof DELEGATION_REASONS)[number];

/** attempts[].reason: the Delegation reasons, and why an attempt ended without ending the Delegation. */
export const ATTEMPT_REASONS = [...DELEGATION_REASONS, "Interrupted", "PodGone"] as const;
export type AttemptReason = (typeof ATTEMPT_REASONS)[number];

export const ContextMessage = z.object({
  role: z.enum(["system", "user", "assistant"]),
  content: utf8Text(MAX_TASK_BYTES),
});

export const DelegationSpec = cel(
  z.object({
    team: agentRef.optional().describe("The AgentTeam whose topology routes and authorises this delegation."),
    to: agentRef.optional().describe("The Agent that should do the task."),
    capability: identifier.optional().describe("Route to a team member that lists this capability."),
    from: agentRef.optional().describe("The Agent that delegated the task; empty for a person or script."),
    task: cel(
      z.string().min(1).max(MAX_TASK_BYTES),
      {
        rule: "self.trim() != ''",
        message: "spec.task must not be blank",
      },
      {
        rule: `bytes(self).size() <= ${MAX_TASK_BYTES}`,
        message: `spec.task must be at most ${MAX_TASK_BYTES} bytes`,
      },
    ).describe("What to do, as the user message the agent receives."),
    context: z
      .array(ContextMessage)
      .max(32)
      .optional()
      .describe("Earlier messages passed to the agent before the task."),
    parent: objectName.optional().describe("The Delegation during which this one was created."),
    timeoutSeconds: z.int().min(1).max(86400).optional(),
    maxAttempts: z.int().min(1).max(10).optional(),
    priority: z.int().min(-1000).max(1000).default(0).describe("Higher runs first when agents are busy."),
    ttlSecondsAfterFinished: z
      .int()
      .min(0)
      .max(30 * 86400)
      .optional(),
  }),
  { rule: "self == oldSelf", message: "spec is immutable after creation" },
  {
    rule: `bytes(self.task).size() + (has(self.context) ? self.context.map(m, bytes(m.content).size()).sum() : 0) <= ${MAX_INPUT_BYTES}`,
    message: `spec.task and spec.context together must be at most ${MAX_INPUT_BYTES} bytes`,
  },
  {
    rule: "has(self.team) || has(self.to)",
    message: "spec.team or spec.to is required",
    reason: "FieldValueRequired",
  },
  {
    rule: "!has(self.capability) || has(self.team)",
    message: "spec.capability requires spec.team",
    fieldPath: ".capability",
  },
  {
    rule: "!(has(self.to) && has(self.capability))",
    message: "spec.to and spec.capability are mutually exclusive",
    fieldPath: ".capability",
    reason: "FieldValueForbidden",
  },
  {
    rule: "!has(self.from) || !has(self.to) || self.from != self.to",
    message: "an agent cannot delegate to itself: spec.from equals spec.to",
    fieldPath: ".to",
  },
);

export const Attempt = z.object({
  /** Random per attempt; only the holder of the current attempt may write the next status. */
  id: z.string().max(64).optional(),
  number: z.int().min(1),
  agent: z.string().max(253).optional(),
  pod: z.string().max(253).optional(),
  podIP: z.string().max(64).optional(),
  startTime: z.string().meta({ format: "date-time" }),
  completionTime: z.string().meta({ format: "date-time" }).optional(),
  outcome: z.enum(["Running", "Succeeded", "Failed"]),
  reason: z.string().max(128).optional(),
  message: z.string().max(4096).optional(),
});

export const Usage = z.object({
  promptTokens: z.int().min(0).optional(),
  completionTokens: z.int().min(0).optional(),
  totalTokens: z.int().min(0).optional(),
});

export const StageStatus = z.object({
  index: z.int().min(0),
  agent: agentRef,
  phase: z.enum(DELEGATION_PHASES),
  delegation: objectName.optional(),
});

export const DelegationStatus = z.object({
  observedGeneration: z.int().min(0).optional(),
  phase: z.enum(DELEGATION_PHASES).optional(),
  reason: z.string().max(128).optional(),
  message: z.string().max(4096).optional(),
  agent: z.string().max(253).optional(),
  pod: z.string().max(253).optional(),
  attempts: z.array(Attempt).max(16).optional(),
  result: z.string().max(MAX_INLINE_RESULT_BYTES).optional(),
  resultRef: z
    .object({ name: objectName, key: z.string().max(253) })
    .optional()
    .describe("ConfigMap key holding the full result when it is longer than status.result allows."),
  usage: Usage.optional(),
  stages: z.array(StageStatus).max(16).optional(),
  startTime: z.string().meta({ format: "date-time" }).optional(),
  completionTime: z.string().meta({ format: "date-time" }).optional(),
  conditions: conditions.optional(),
});

export const Delegation = z.object({
  apiVersion: z.string(),
  kind: z.literal("Delegation"),
  metadata: ObjectMeta,
  spec: DelegationSpec,
  status: DelegationStatus.optional(),
});

export type DelegationSpec = z.infer<typeof DelegationSpec>;
export type DelegationStatus = z.infer<typeof DelegationStatus>;
export type Delegation = z.infer<typeof Delegation>;
