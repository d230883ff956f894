import { z } from "zod";
import { agentRef, cel, conditions, identifier, ObjectMeta, objectName, observedGeneration, utf8Text } from "./meta.ts";

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
  role: z.enum(["system", "user", "assistant"]).describe("Who said it: system, user or assistant."),
  content: utf8Text(MAX_TASK_BYTES).describe(`The message text; at most ${MAX_TASK_BYTES / 1024} KiB of UTF-8.`),
});

export const DelegationSpec = cel(
  z.object({
    team: agentRef
      .optional()
      .describe(
        "The AgentTeam whose topology routes and authorises this delegation; with neither to nor capability it goes to the team's entry point (its lead, or the whole pipeline).",
      ),
    to: agentRef.optional().describe("The Agent that should do the task. Default: chosen by spec.team."),
    capability: identifier
      .optional()
      .describe("Route to a member of spec.team that lists this capability; excludes spec.to."),
    from: agentRef
      .optional()
      .describe(
        "The Agent that delegated the task, set by the operator's delegation endpoint only; empty for a person or script.",
      ),
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
    ).describe(
      `What to do, as the user message the agent receives; at most ${MAX_TASK_BYTES / 1024} KiB of UTF-8, and with spec.context at most ${MAX_INPUT_BYTES / 1024} KiB.`,
    ),
    context: z
      .array(ContextMessage)
      .max(32)
      .optional()
      .describe("Earlier messages passed to the agent before the task, oldest first (up to 32). Default: none."),
    parent: objectName
      .optional()
      .describe(
        "The Delegation during which this one was created; this one is cancelled when it finishes and cannot outlive its deadline.",
      ),
    timeoutSeconds: z
      .int()
      .min(1)
      .max(86400)
      .optional()
      .describe(
        "Deadline in seconds from creation, covering the queue and every attempt. Default: the team's spec.delegation.defaultTimeoutSeconds, else the Agent's spec.timeoutSeconds outside a team, else 600.",
      ),
    maxAttempts: z
      .int()
      .min(1)
      .max(10)
      .optional()
      .describe(
        "Attempts before the Delegation fails, the first included; an attempt cut short by an operator restart does not count. Default: the team's spec.delegation.maxAttempts, else 3.",
      ),
    priority: z
      .int()
      .min(-1000)
      .max(1000)
      .default(0)
      .describe("Higher runs first when agents are busy; equal priorities run oldest first. Default 0."),
    ttlSecondsAfterFinished: z
      .int()
      .min(0)
      .max(30 * 86400)
      .optional()
      .describe(
        "The Delegation is deleted this many seconds after it finishes. Default: the team's spec.delegation.ttlSecondsAfterFinished, else 86400 (a day).",
      ),
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
).describe("The task and whom it is for; immutable after creation.");

export const Attempt = z.object({
  /** Random per attempt; only the holder of the current attempt may write the next status. */
  id: z
    .string()
    .max(64)
    .optional()
    .describe("Random id of the attempt; only the operator holding it may write the next status."),
  number: z
    .int()
    .min(1)
    .describe("1 for the first attempt, counting up; the last entry's number is the attempts made."),
  agent: z.string().max(253).optional().describe("The Agent the attempt ran on."),
  pod: z.string().max(253).optional().describe("The gateway pod the attempt ran on."),
  podIP: z.string().max(64).optional().describe("That pod's IP when the attempt started."),
  startTime: z.string().meta({ format: "date-time" }).describe("When the attempt started (RFC 3339)."),
  completionTime: z
    .string()
    .meta({ format: "date-time" })
    .optional()
    .describe("When the attempt ended (RFC 3339); unset while it runs."),
  outcome: z.enum(["Running", "Succeeded", "Failed"]).describe("Running, Succeeded or Failed."),
  reason: z
    .string()
    .max(128)
    .optional()
    .describe(`Why the attempt ended, one of ${ATTEMPT_REASONS.join(", ")}.`),
  message: z.string().max(4096).optional().describe("What happened, for people (up to 4096 characters)."),
});

export const Usage = z.object({
  promptTokens: z.int().min(0).optional().describe("Tokens of the prompt the model read."),
  completionTokens: z.int().min(0).optional().describe("Tokens the model generated."),
  totalTokens: z.int().min(0).optional().describe("Prompt and completion tokens together."),
  unknown: z
    .boolean()
    .optional()
    .describe(
      "True when the gateway did not say what the task used (its reply had no usage, or zero tokens, which OpenClaw answers when the model provider reported none); the counts are then left out, never written as zero.",
    ),
});

export const StageStatus = z.object({
  index: z.int().min(0).describe("Position of the stage in the team's spec.stages, from 0."),
  agent: agentRef,
  phase: z.enum(DELEGATION_PHASES).describe("The stage's phase: Pending, Running, Succeeded or Failed."),
  delegation: objectName.optional().describe("The Delegation that runs the stage, once created."),
});

export const DelegationStatus = z
  .object({
    observedGeneration,
    phase: z
      .enum(DELEGATION_PHASES)
      .optional()
      .describe("Pending (waiting for a pod or a free slot), Running, then Succeeded or Failed."),
    reason: z
      .string()
      .max(128)
      .optional()
      .describe(
        `Why the Delegation is in its phase: Queued while Pending, and once finished one of ${DELEGATION_REASONS.join(", ")}.`,
      ),
    message: z
      .string()
      .max(4096)
      .optional()
      .describe("What is happening or happened, for people (up to 4096 characters)."),
    agent: z.string().max(253).optional().describe("The Agent doing the task."),
    pod: z.string().max(253).optional().describe("The gateway pod of the latest attempt."),
    attempts: z
      .array(Attempt)
      .max(16)
      .optional()
      .describe("Every attempt, oldest first (the last 16; interrupted ones make room first)."),
    result: z
      .string()
      .max(MAX_INLINE_RESULT_BYTES)
      .optional()
      .describe(
        `The agent's answer, up to ${MAX_INLINE_RESULT_BYTES / 1024} KiB of UTF-8; a longer one is cut here and kept whole in status.resultRef.`,
      ),
    resultRef: z
      .object({
        name: objectName.describe("The ConfigMap, in the Delegation's namespace and owned by it."),
        key: z.string().max(253).describe("The ConfigMap key holding the result."),
      })
      .optional()
      .describe("ConfigMap key holding the full result when it is longer than status.result allows."),
    usage: Usage.optional().describe("The tokens the agent's model used for the task."),
    stages: z
      .array(StageStatus)
      .max(16)
      .optional()
      .describe("For a Delegation to a pipeline team: each stage in order."),
    startTime: z
      .string()
      .meta({ format: "date-time" })
      .optional()
      .describe("When the first attempt started (RFC 3339)."),
    completionTime: z
      .string()
      .meta({ format: "date-time" })
      .optional()
      .describe("When the Delegation finished (RFC 3339); completionTime minus startTime is how long it ran."),
    duration: z
      .string()
      .max(32)
      .optional()
      .describe("How long it ran, from startTime to completionTime, such as 45s, 3m12s or 2h5m; set when it finishes."),
    traceID: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .optional()
      .describe(
        "The W3C trace ID (32 hex digits) of the trace holding this Delegation's span and its attempts; set when the operator exports traces (docs/tracing.md).",
      ),
    conditions: conditions.optional(),
  })
  .describe("What happened to the task: phase, attempts and result, written by the operator.");

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
