/** What the delegation endpoint needs from the operator, independent of MCP or REST. */
import { z } from "zod";
import { MAX_TASK_BYTES } from "../api/delegation.ts";
import { agentRef, identifier } from "../api/meta.ts";

/** The agent a request came from, identified by its delegation token. */
export interface Caller {
  namespace: string;
  agent: string;
}

export const DelegateRequest = z
  .object({
    agent: agentRef.optional().describe("The team member to hand the task to."),
    capability: identifier.optional().describe("Pick a team member that lists this capability instead."),
    team: agentRef.optional().describe("The team to delegate in, when the caller belongs to several."),
    task: z
      .string()
      .min(1)
      .refine((t) => Buffer.byteLength(t) <= MAX_TASK_BYTES, `task must be at most ${MAX_TASK_BYTES} bytes`)
      .refine((t) => t.trim() !== "", "task must not be blank")
      .describe("What to do, with everything the member needs to know."),
    timeoutSeconds: z.int().min(1).max(86400).optional().describe("Give up after this long."),
    parent: z
      .string()
      .max(253)
      .optional()
      .describe(
        "The Delegation you are working on. When you run only one it is assumed; when you run several, it is required.",
      ),
  })
  .refine((r) => !(r.agent && r.capability), { message: "give agent or capability, not both", path: ["capability"] });
export type DelegateRequest = z.infer<typeof DelegateRequest>;

/** A refused or failed request, with an HTTP status and a code callers can act on. */
export class EndpointError extends Error {
  override name = "EndpointError";
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The outcome of a finished Delegation, as the caller sees it. */
export interface DelegateOutcome {
  delegation: string;
  phase: "Pending" | "Running" | "Succeeded" | "Failed";
  reason?: string | undefined;
  message?: string | undefined;
  agent?: string | undefined;
  pod?: string | undefined;
  attempts?: number | undefined;
  result?: string | undefined;
  resultRef?: { name: string; key: string } | undefined;
  usage?: Record<string, number> | undefined;
}

export interface DelegationService {
  /** Maps a bearer token to its agent, or undefined. */
  authenticate(token: string): Caller | undefined;
  /**
   * Authorises and creates the Delegation; unless `wait` is false, waits for it and returns the
   * outcome. Throws EndpointError when refused (and then creates nothing).
   */
  delegate(
    caller: Caller,
    request: DelegateRequest,
    signal: AbortSignal,
    options?: { wait?: boolean },
  ): Promise<DelegateOutcome>;
  /** A Delegation the caller made, optionally once it has finished. Throws EndpointError NotFound otherwise. */
  get(caller: Caller, name: string, options: { wait: boolean; signal: AbortSignal }): Promise<DelegateOutcome>;
  /** Cancels a Delegation the caller made: deletes it, or with `keep` records it as Failed/Cancelled. */
  cancel(caller: Caller, name: string, options: { keep: boolean }): Promise<void>;
  /** The caller's teams, members and whom it may delegate to. */
  listTeam(caller: Caller): Promise<unknown>;
}
