/**
 * One attempt: deliver a Delegation's task to one pod, and judge how the attempt ended, whether
 * the gateway answered, failed, or the attempt was aborted (cancel, deadline, pod gone, stop).
 */
import type { Delegation, DelegationReason } from "../api/delegation.ts";
import type { EndpointSource, PodEndpoint } from "./pod-endpoints.ts";
import type { TokenSource } from "./tokens.ts";
import { type ChatResult, chatBody, DeliveryError, type Transport } from "./transport.ts";

/** Why an attempt was aborted. `stop` and `dropped` end it without a verdict of its own. */
export type AbortReason =
  | { kind: "cancel"; record: boolean; message?: string | undefined }
  | { kind: "deadline" }
  | { kind: "podgone" }
  | { kind: "stop" }
  | { kind: "dropped" };

export interface DeliveryDeps {
  endpoints: EndpointSource;
  tokens: TokenSource;
  transport: Transport;
  /** Delegators get a system message telling them to pass `parent`. */
  isDelegator?: ((namespace: string, agent: string) => boolean) | undefined;
}

/** Sends the task to `pod`. Rejects with a DeliveryError when the pod cannot be reached. */
export function deliver(
  deps: DeliveryDeps,
  d: Delegation,
  agent: string,
  pod: PodEndpoint,
  signal: AbortSignal,
): Promise<ChatResult> {
  const ns = d.metadata.namespace ?? "";
  const target = deps.endpoints.dialTarget(ns, agent, pod);
  if (!target) return Promise.reject(new DeliveryError("connect", `no address for pod ${pod.pod}`));
  const token = deps.tokens.tokenOf(ns, agent);
  if (!token) {
    return Promise.reject(new DeliveryError("connect", `the token Secret of ${agent} is not in the cache`));
  }
  const delegator = deps.isDelegator?.(ns, agent) ?? false;
  try {
    return deps.transport({ ...target, token }, chatBody(d, { delegator }), signal);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What an ended attempt means for its Delegation. */
export type Verdict =
  | { kind: "answered"; result: ChatResult }
  | { kind: "cancelled"; record: boolean; message?: string | undefined }
  | { kind: "timedOut" }
  /** Another attempt may follow (the Delegation fails with terminalReason if none may). */
  | { kind: "retryable"; attemptReason: string; message: string; terminalReason: DelegationReason }
  | { kind: "failed"; reason: DelegationReason; message: string }
  /** Stopped or dropped: nothing more is written for this attempt. */
  | { kind: "abandoned" };

function reasonOf(error: DeliveryError): "AgentUnavailable" | "AgentError" {
  return error.kind === "connect" || error.kind === "reset" ? "AgentUnavailable" : "AgentError";
}

/** Judges an attempt from how its delivery settled and why (if at all) it was aborted. */
export function judge(
  settled: { result: ChatResult } | { error: unknown },
  aborted: AbortReason | undefined,
  pod: string,
): Verdict {
  switch (aborted?.kind) {
    case "cancel":
      return { kind: "cancelled", record: aborted.record, message: aborted.message };
    case "deadline":
      return { kind: "timedOut" };
    case "podgone":
      return {
        kind: "retryable",
        attemptReason: "PodGone",
        message: `pod ${pod} left the Service's endpoints`,
        terminalReason: "AgentUnavailable",
      };
    case "stop":
    case "dropped":
      return { kind: "abandoned" };
  }
  if ("result" in settled) return { kind: "answered", result: settled.result };
  const error =
    settled.error instanceof DeliveryError
      ? settled.error
      : new DeliveryError("connect", String((settled.error as Error)?.message ?? settled.error));
  const reason = reasonOf(error);
  return error.retryable
    ? { kind: "retryable", attemptReason: reason, message: error.message, terminalReason: reason }
    : { kind: "failed", reason, message: error.message };
}
