/**
 * The spans of a Delegation, and where they sit in a trace (docs/tracing.md). A Delegation's span
 * may be started by one operator process and ended by another, so no process holds it open: its
 * ids are derived from the Delegation's uid, its parent is the traceparent annotation written when
 * the Delegation was created, and whichever process writes the terminal status emits it whole
 * (from creationTimestamp to now). An attempt's span is live in the process that runs the attempt;
 * its id is derived from the attempt id, so the next leader can emit one it saw interrupted.
 *
 * Every hook returns after one check when tracing is off: no SDK is loaded (sdk.ts).
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { Delegation, DelegationStatus } from "../api/delegation.ts";
import { ANNOTATION_TRACEPARENT } from "../api/labels.ts";

export type { Span };

/** The SDK's id generator, told the ids to use for the next span by `startPinned`. */
export interface DelegationIds {
  traceId: string | undefined;
  spanId: string | undefined;
  generateTraceId(): string;
  generateSpanId(): string;
}

/** Whether a trace that starts at a Delegation is sampled; the same answer in every process. */
export type RootSampler = (traceId: string) => boolean;

interface TracingState {
  tracer: Tracer;
  ids: DelegationIds;
  sampleRoot: RootSampler;
}

let state: TracingState | undefined;

/** Set by startTracing (and by tests with their own provider); undefined turns every hook off. */
export function setTracingState(next: TracingState | undefined): void {
  state = next;
}

export function tracingEnabled(): boolean {
  return state !== undefined;
}

function derived(label: string, value: string, hexDigits: number): string {
  return createHash("sha256").update(label).update("\0").update(value).digest("hex").slice(0, hexDigits);
}

/** The trace id of a Delegation created without a traceparent: a new trace, named by its uid. */
export const traceIdOf = (uid: string) => derived("clawcrew.io/trace", uid, 32);
export const delegationSpanIdOf = (uid: string) => derived("clawcrew.io/delegation", uid, 16);
export const attemptSpanIdOf = (uid: string, attemptId: string) =>
  derived("clawcrew.io/attempt", `${uid}/${attemptId}`, 16);

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A W3C traceparent (version 00) as a remote span context; undefined when malformed or all zeros. */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const m = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & 0xff, isRemote: true };
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

export interface DelegationTrace {
  traceId: string;
  spanId: string;
  /** The span this Delegation's span is a child of, from its traceparent annotation. */
  parent: SpanContext | undefined;
  sampled: boolean;
}

function delegationTrace(s: TracingState, d: Delegation): DelegationTrace {
  const uid = d.metadata.uid ?? "";
  const parent = parseTraceparent(d.metadata.annotations?.[ANNOTATION_TRACEPARENT]);
  const traceId = parent?.traceId ?? traceIdOf(uid);
  const sampled = parent ? (parent.traceFlags & TraceFlags.SAMPLED) !== 0 : s.sampleRoot(traceId);
  return { traceId, spanId: delegationSpanIdOf(uid), parent, sampled };
}

/** A context whose parent is the Delegation's span, wherever and whenever that span is emitted. */
function delegationContext(t: DelegationTrace): Context {
  const traceFlags = t.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: t.traceId, spanId: t.spanId, traceFlags, isRemote: true });
}

/** Starts a span with the given ids (the SDK asks its id generator synchronously, inside startSpan). */
function startPinned(
  s: TracingState,
  name: string,
  options: { kind: SpanKind; startTime?: number; attributes: Attributes },
  parent: Context,
  ids: { traceId?: string; spanId: string },
): Span {
  s.ids.traceId = ids.traceId;
  s.ids.spanId = ids.spanId;
  try {
    return s.tracer.startSpan(name, options, parent);
  } finally {
    s.ids.traceId = undefined;
    s.ids.spanId = undefined;
  }
}

function delegationAttributes(d: Delegation): Attributes {
  const attributes: Attributes = {
    "k8s.namespace.name": d.metadata.namespace ?? "",
    "clawcrew.delegation.name": d.metadata.name ?? "",
    "clawcrew.delegation.uid": d.metadata.uid ?? "",
  };
  if (d.spec.team) attributes["clawcrew.team"] = d.spec.team;
  if (d.spec.from) attributes["clawcrew.from"] = d.spec.from;
  if (d.spec.parent) attributes["clawcrew.delegation.parent"] = d.spec.parent;
  return attributes;
}

/** The status to write, with status.traceID when tracing is on. */
export function statusWithTraceID(d: Delegation): DelegationStatus {
  const status = d.status ?? {};
  if (!state || status.traceID) return status;
  return { ...status, traceID: delegationTrace(state, d).traceId };
}

/** The annotation that puts a child the operator creates (a pipeline stage) under `parent`'s span. */
export function childTraceAnnotations(parent: Delegation): Record<string, string> {
  if (!state) return {};
  const t = delegationTrace(state, parent);
  const traceFlags = t.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE;
  return { [ANNOTATION_TRACEPARENT]: formatTraceparent({ traceId: t.traceId, spanId: t.spanId, traceFlags }) };
}

/** The Delegation's own span, emitted once by the process that wrote its terminal status. */
export function delegationFinished(d: Delegation): void {
  if (!state) return;
  const t = delegationTrace(state, d);
  const s = d.status ?? {};
  const created = Date.parse(String(d.metadata.creationTimestamp ?? ""));
  const attributes = delegationAttributes(d);
  if (s.agent) attributes["gen_ai.agent.name"] = s.agent;
  if (s.phase) attributes["clawcrew.delegation.phase"] = s.phase;
  if (s.reason) attributes["clawcrew.delegation.reason"] = s.reason;
  attributes["clawcrew.delegation.attempts"] = s.attempts?.at(-1)?.number ?? 0;
  if (s.usage?.promptTokens !== undefined) attributes["gen_ai.usage.input_tokens"] = s.usage.promptTokens;
  if (s.usage?.completionTokens !== undefined) attributes["gen_ai.usage.output_tokens"] = s.usage.completionTokens;
  const parent = t.parent ? trace.setSpanContext(ROOT_CONTEXT, t.parent) : ROOT_CONTEXT;
  const span = startPinned(
    state,
    `delegation ${s.agent ?? d.spec.to ?? d.spec.team ?? ""}`.trim(),
    { kind: SpanKind.INTERNAL, ...(Number.isFinite(created) && { startTime: created }), attributes },
    parent,
    { traceId: t.traceId, spanId: t.spanId },
  );
  if (s.phase === "Failed") span.setStatus({ code: SpanStatusCode.ERROR, message: `${s.reason}: ${s.message ?? ""}` });
  span.end();
}

export interface AttemptInfo {
  id: string;
  number: number;
  agent: string;
  pod: string;
}

function attemptAttributes(d: Delegation, a: AttemptInfo): Attributes {
  return {
    ...delegationAttributes(d),
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.agent.name": a.agent,
    "k8s.pod.name": a.pod,
    "clawcrew.attempt.number": a.number,
  };
}

/** The span of an attempt (the gateway call), a child of the Delegation's span. */
export function startAttemptSpan(d: Delegation, a: AttemptInfo): Span | undefined {
  if (!state) return undefined;
  const t = delegationTrace(state, d);
  return startPinned(
    state,
    `invoke_agent ${a.agent}`,
    { kind: SpanKind.CLIENT, attributes: attemptAttributes(d, a) },
    delegationContext(t),
    { spanId: attemptSpanIdOf(d.metadata.uid ?? "", a.id) },
  );
}

/** Runs `fn` with `span` active, so the gateway request carries its traceparent. */
export function inSpan<T>(span: Span | undefined, fn: () => T): T {
  if (!span) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/**
 * Ends an attempt's span. One cut short by the operator stopping is left open: the next leader
 * records that attempt as interrupted and emits its span (`interruptedAttempts`).
 */
export function endAttemptSpan(span: Span | undefined, error: unknown, abortKind: string | undefined): void {
  if (!span || abortKind === "stop") return;
  if (abortKind) span.setStatus({ code: SpanStatusCode.ERROR, message: `aborted: ${abortKind}` });
  else if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
  span.end();
}

/** Emits the spans of attempts that were running in `before` and are interrupted in `after`. */
export function interruptedAttempts(d: Delegation, before: DelegationStatus, after: DelegationStatus): void {
  if (!state) return;
  const t = delegationTrace(state, d);
  for (const a of after.attempts ?? []) {
    const was = before.attempts?.find((b) => b.id === a.id);
    if (!a.id || was?.outcome !== "Running" || a.outcome === "Running") continue;
    const span = startPinned(
      state,
      `invoke_agent ${a.agent ?? ""}`.trim(),
      {
        kind: SpanKind.CLIENT,
        startTime: Date.parse(a.startTime),
        attributes: attemptAttributes(d, { id: a.id, number: a.number, agent: a.agent ?? "", pod: a.pod ?? "" }),
      },
      delegationContext(t),
      { spanId: attemptSpanIdOf(d.metadata.uid ?? "", a.id) },
    );
    span.setStatus({ code: SpanStatusCode.ERROR, message: a.reason ?? "Interrupted" });
    span.end(a.completionTime ? Date.parse(a.completionTime) : undefined);
  }
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** The traceparent (and tracestate) of the active span, for an outgoing request. */
export function traceHeaders(): Readonly<Record<string, string>> {
  if (!state) return NO_HEADERS;
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/** Runs `fn` in the context of an incoming request's traceparent. */
export function withIncomingTrace<T>(headers: IncomingHttpHeaders, fn: () => T): T {
  if (!state) return fn();
  return context.with(propagation.extract(ROOT_CONTEXT, headers), fn);
}

export interface DelegateSpan {
  span: Span;
  /** For the new Delegation: they make its span a child of this one. */
  annotations: Record<string, string>;
}

/**
 * The endpoint's span for a request that creates a Delegation. Its parent is the caller's
 * traceparent when it has one in the parent Delegation's trace (or no parent is known); else the
 * parent Delegation's span; else it starts a trace.
 */
export function startDelegateSpan(
  caller: { namespace: string; agent: string },
  parent: Delegation | undefined,
): DelegateSpan | undefined {
  if (!state) return undefined;
  const incoming = trace.getSpanContext(context.active());
  const parentTrace = parent && delegationTrace(state, parent);
  const useIncoming =
    incoming && trace.isSpanContextValid(incoming) && (!parentTrace || incoming.traceId === parentTrace.traceId);
  const ctx = useIncoming ? context.active() : parentTrace ? delegationContext(parentTrace) : ROOT_CONTEXT;
  const attributes: Attributes = { "k8s.namespace.name": caller.namespace, "clawcrew.from": caller.agent };
  if (parent?.metadata.name) attributes["clawcrew.delegation.parent"] = parent.metadata.name;
  const span = state.tracer.startSpan("delegate", { kind: SpanKind.SERVER, attributes }, ctx);
  return { span, annotations: { [ANNOTATION_TRACEPARENT]: formatTraceparent(span.spanContext()) } };
}

/** Ends the endpoint's span when the create settles; passes its outcome on. */
export async function endDelegateSpan<T extends Delegation>(
  s: DelegateSpan | undefined,
  creating: Promise<T>,
): Promise<T> {
  if (!s) return creating;
  try {
    const created = await creating;
    s.span.setAttribute("clawcrew.delegation.name", created.metadata.name ?? "");
    return created;
  } catch (error) {
    s.span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
    throw error;
  } finally {
    s.span.end();
  }
}
