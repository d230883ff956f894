import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import type { Delegation } from "../../../src/api/delegation.ts";
import { ANNOTATION_TRACEPARENT } from "../../../src/api/labels.ts";
import { startTracing, type Tracing, tracingRequested } from "../../../src/tracing/sdk.ts";
import {
  attemptSpanIdOf,
  childTraceAnnotations,
  delegationFinished,
  delegationSpanIdOf,
  endAttemptSpan,
  endDelegateSpan,
  inSpan,
  interruptedAttempts,
  parseTraceparent,
  startAttemptSpan,
  startDelegateSpan,
  statusWithTraceID,
  traceHeaders,
  traceIdOf,
  tracingEnabled,
  withIncomingTrace,
} from "../../../src/tracing/spans.ts";
import { flush, harness, silentLogger } from "../delegation/fakes.ts";

const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";
const CALLER = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;

function delegation(name: string, annotations?: Record<string, string>): Delegation {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      creationTimestamp: "2026-01-01T00:00:00Z",
      ...(annotations && { annotations }),
    },
    spec: { to: "worker", task: "t", priority: 0 },
  };
}

let tracing: Tracing | undefined;
let exporter: InMemorySpanExporter;

async function on(env: Record<string, string> = {}): Promise<void> {
  exporter = new InMemorySpanExporter();
  tracing = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", ...env }, silentLogger, {
    spanProcessor: new SimpleSpanProcessor({ exporter }),
  });
}

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

describe("tracing switch", () => {
  it("is on only with an OTLP endpoint, and OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none turn it off", () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" })).toBe(
      false,
    );
  });

  it("starts nothing when off, and every hook leaves objects as they were", async () => {
    expect(await startTracing({}, silentLogger)).toBeUndefined();
    expect(tracingEnabled()).toBe(false);
    const d = delegation("off");
    d.status = { phase: "Pending" };
    expect(statusWithTraceID(d)).toBe(d.status);
    expect(childTraceAnnotations(d)).toEqual({});
    expect(withIncomingTrace({ traceparent: CALLER }, () => traceHeaders())).toEqual({});
    expect(startAttemptSpan(d, { id: "a", number: 1, agent: "worker", pod: "p" })).toBeUndefined();
    expect(startDelegateSpan({ namespace: "ns", agent: "lead" }, undefined)).toBeUndefined();
    expect(await endDelegateSpan(undefined, Promise.resolve(d))).toBe(d);
  });

  it("refuses a protocol or sampler it cannot honour", async () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" };
    await expect(startTracing({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, silentLogger)).rejects.toThrow(
      /http\/protobuf/,
    );
    await expect(startTracing({ ...base, OTEL_TRACES_SAMPLER: "jaeger_remote" }, silentLogger)).rejects.toThrow(
      /not supported/,
    );
    await expect(startTracing({ ...base, OTEL_BSP_SCHEDULE_DELAY: "soon" }, silentLogger)).rejects.toThrow(
      /OTEL_BSP_SCHEDULE_DELAY/,
    );
    expect(tracingEnabled()).toBe(false);
  });
});

describe("traceparent", () => {
  it("parses version 00 and refuses malformed or all-zero ids", () => {
    expect(parseTraceparent(CALLER)).toEqual({
      traceId: CALLER_TRACE,
      spanId: CALLER_SPAN,
      traceFlags: 1,
      isRemote: true,
    });
    expect(parseTraceparent(`00-${"0".repeat(32)}-${CALLER_SPAN}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${CALLER_TRACE}-${"0".repeat(16)}-01`)).toBeUndefined();
    expect(parseTraceparent("00-xyz-abc-01")).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });
});

describe("a Delegation's spans", () => {
  it("a Delegation without a traceparent starts a trace named by its uid; attempts are its children", async () => {
    await on();
    const d = delegation("root");
    expect(statusWithTraceID(d).traceID).toBe(traceIdOf("uid-root"));
    const span = startAttemptSpan(d, { id: "att1", number: 1, agent: "worker", pod: "pod-a" });
    const headers = inSpan(span, () => traceHeaders());
    endAttemptSpan(span, undefined, undefined);
    d.status = { phase: "Succeeded", reason: "Completed", agent: "worker", attempts: [] };
    delegationFinished(d);

    const [attempt, own] = spans();
    expect(own!.spanContext()).toMatchObject({
      traceId: traceIdOf("uid-root"),
      spanId: delegationSpanIdOf("uid-root"),
    });
    expect(own!.parentSpanContext).toBeUndefined();
    expect(own!.name).toBe("delegation worker");
    expect(own!.startTime[0]).toBe(Date.parse("2026-01-01T00:00:00Z") / 1000);
    expect(attempt!.spanContext()).toMatchObject({
      traceId: traceIdOf("uid-root"),
      spanId: attemptSpanIdOf("uid-root", "att1"),
    });
    expect(parentOf(attempt!)).toBe(delegationSpanIdOf("uid-root"));
    expect(attempt!.attributes).toMatchObject({ "gen_ai.agent.name": "worker", "k8s.pod.name": "pod-a" });
    expect(headers.traceparent).toBe(`00-${traceIdOf("uid-root")}-${attemptSpanIdOf("uid-root", "att1")}-01`);
  });

  it("a Delegation created with a traceparent annotation is a child of that span, in that trace", async () => {
    await on();
    const d = delegation("child", { [ANNOTATION_TRACEPARENT]: CALLER });
    expect(statusWithTraceID(d).traceID).toBe(CALLER_TRACE);
    d.status = { phase: "Failed", reason: "AgentError", message: "boom" };
    delegationFinished(d);
    const [own] = spans();
    expect(own!.spanContext().traceId).toBe(CALLER_TRACE);
    expect(parentOf(own!)).toBe(CALLER_SPAN);
    expect(own!.status).toMatchObject({ code: 2, message: "AgentError: boom" });
    // A stage the operator creates under it points at its span.
    expect(childTraceAnnotations(d)).toEqual({
      [ANNOTATION_TRACEPARENT]: `00-${CALLER_TRACE}-${delegationSpanIdOf("uid-child")}-01`,
    });
  });

  it("an attempt cut short by a stop is left to the next leader, who emits it as interrupted", async () => {
    await on();
    const d = delegation("moved");
    endAttemptSpan(startAttemptSpan(d, { id: "a1", number: 1, agent: "worker", pod: "p" }), undefined, "stop");
    expect(spans()).toEqual([]);
    const running = { id: "a1", number: 1, agent: "worker", pod: "p", startTime: "2026-01-01T00:00:01Z" };
    interruptedAttempts(
      d,
      { attempts: [{ ...running, outcome: "Running" }] },
      {
        attempts: [{ ...running, outcome: "Failed", reason: "Interrupted", completionTime: "2026-01-01T00:00:05Z" }],
      },
    );
    const [span] = spans();
    expect(span!.spanContext().spanId).toBe(attemptSpanIdOf("uid-moved", "a1"));
    expect(parentOf(span!)).toBe(delegationSpanIdOf("uid-moved"));
    expect(span!.status.message).toBe("Interrupted");
    expect(span!.endTime[0] - span!.startTime[0]).toBe(4);
  });

  it("an unsampled root stays unsampled in every span of the Delegation", async () => {
    await on({ OTEL_TRACES_SAMPLER: "parentbased_always_off" });
    const d = delegation("quiet");
    expect(statusWithTraceID(d).traceID).toBe(traceIdOf("uid-quiet"));
    const span = startAttemptSpan(d, { id: "a", number: 1, agent: "worker", pod: "p" });
    expect(inSpan(span, () => traceHeaders()).traceparent).toMatch(/-00$/);
    endAttemptSpan(span, undefined, undefined);
    delegationFinished(d);
    expect(spans()).toEqual([]);
  });
});

describe("the endpoint's span", () => {
  const caller = { namespace: "ns", agent: "lead" };
  /** What the endpoint does: start the span, create with its annotations, end it. */
  const made = (annotations: Record<string, string>) => Promise.resolve(delegation("new", annotations));
  const tracedCreate = (parent: Delegation | undefined, create = made) => {
    const span = startDelegateSpan(caller, parent);
    return endDelegateSpan(span, create(span?.annotations ?? {}));
  };

  it("continues the caller's traceparent, and the new Delegation is its child", async () => {
    await on();
    const created = await withIncomingTrace({ traceparent: CALLER }, () => tracedCreate(undefined));
    const [span] = spans();
    expect(span!.spanContext().traceId).toBe(CALLER_TRACE);
    expect(parentOf(span!)).toBe(CALLER_SPAN);
    expect(parseTraceparent(created.metadata.annotations?.[ANNOTATION_TRACEPARENT])).toMatchObject({
      traceId: CALLER_TRACE,
      spanId: span!.spanContext().spanId,
    });
  });

  it("with a known parent Delegation, joins its trace under its span unless the caller is in that trace", async () => {
    await on();
    const parent = delegation("parent");
    await withIncomingTrace({ traceparent: CALLER }, () => tracedCreate(parent));
    const inParentTrace = `00-${traceIdOf("uid-parent")}-${CALLER_SPAN}-01`;
    await withIncomingTrace({ traceparent: inParentTrace }, () => tracedCreate(parent));
    await tracedCreate(parent);
    const [foreign, same, none] = spans();
    for (const s of [foreign, same, none]) expect(s!.spanContext().traceId).toBe(traceIdOf("uid-parent"));
    expect(parentOf(foreign!)).toBe(delegationSpanIdOf("uid-parent"));
    expect(parentOf(same!)).toBe(CALLER_SPAN);
    expect(parentOf(none!)).toBe(delegationSpanIdOf("uid-parent"));
  });

  it("a refused create ends the span with an error", async () => {
    await on();
    await expect(tracedCreate(undefined, () => Promise.reject(new Error("forbidden")))).rejects.toThrow("forbidden");
    expect(spans()[0]!.status).toMatchObject({ code: 2, message: "forbidden" });
  });
});

describe("the dispatcher's spans", () => {
  it("each attempt is a span carried to the gateway as traceparent, and the Delegation's span ends it all", async () => {
    await on();
    const seen: Record<string, string>[] = [];
    const h = harness({
      transport: (target, body, signal) => {
        seen.push({ ...traceHeaders() });
        return h.transport.transport(target, body, signal);
      },
      backoff: { initialMs: 10, maxMs: 10, jitter: 0 },
    });
    h.endpoints.set("worker", ["pod-a", "pod-b"]);
    const d = h.server.create("flow");
    d.metadata.annotations = { [ANNOTATION_TRACEPARENT]: CALLER };
    h.server.objects.set(d.metadata.uid!, structuredClone(d));
    h.dispatcher.submit(d);
    await flush();
    h.transport.fail(h.transport.open()[0]!, 503);
    await flush();
    await h.clock.advance(20);
    h.transport.succeed(h.transport.open()[0]!, "answer");
    await flush();
    await flush();

    const written = h.server.get(d.metadata.uid!);
    expect(written.status).toMatchObject({ phase: "Succeeded", traceID: CALLER_TRACE });
    const attempts = written.status!.attempts!;
    const finished = spans();
    const own = finished.find((s) => s.name === "delegation worker")!;
    const tries = finished.filter((s) => s.name === "invoke_agent worker");
    expect(parentOf(own)).toBe(CALLER_SPAN);
    expect(tries.map((s) => s.spanContext().spanId)).toEqual(attempts.map((a) => attemptSpanIdOf("uid-flow", a.id!)));
    expect(tries.map(parentOf)).toEqual([own.spanContext().spanId, own.spanContext().spanId]);
    expect(tries.map((s) => s.status.code)).toEqual([2, 0]);
    expect(seen.map((h) => h.traceparent)).toEqual(
      attempts.map((a) => `00-${CALLER_TRACE}-${attemptSpanIdOf("uid-flow", a.id!)}-01`),
    );
  });
});
