/**
 * Starts the OpenTelemetry SDK when OTLP export is configured, and only then: without
 * OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) nothing is loaded, the API's tracer stays the
 * no-op one and every hook in spans.ts returns after one check. Standard OTEL_* variables apply:
 * OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp or none), OTEL_EXPORTER_OTLP_* (read by the exporter),
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG) and OTEL_BSP_*.
 */
import type { Sampler, SpanProcessor } from "@opentelemetry/sdk-trace";
import type { Logger } from "../runtime/log.ts";
import { type DelegationIds, type RootSampler, setTracingState } from "./spans.ts";

export const DEFAULT_SERVICE_NAME = "clawcrew-operator";

/** A running SDK: flush what is buffered and stop. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/** Raised for an OTEL_* value the operator cannot use; main prints it and exits 2. */
export class TracingConfigError extends Error {
  override readonly name = "TracingConfigError";
}

/** Whether the environment asks for traces to be exported. */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").map((e) => e.trim().toLowerCase());
  if (exporters.includes("none")) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new TracingConfigError(`${name} must be a positive integer`);
  return value;
}

/** OTEL_TRACES_SAMPLER as the spec names them; default parentbased_always_on. */
async function samplerFromEnv(env: NodeJS.ProcessEnv) {
  const sdk = await import("@opentelemetry/sdk-trace");
  const name = (env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").trim().toLowerCase();
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const ratio = arg === undefined || arg === "" ? 1 : Number(arg);
  if (!(ratio >= 0 && ratio <= 1)) throw new TracingConfigError("OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1");
  const roots = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: () => new sdk.TraceIdRatioBasedSampler(ratio),
  } as const;
  const base = name.replace(/^parentbased_/, "") as keyof typeof roots;
  if (!(base in roots)) throw new TracingConfigError(`OTEL_TRACES_SAMPLER ${name} is not supported`);
  const root: Sampler = roots[base]();
  const sampler = name.startsWith("parentbased_") ? new sdk.ParentBasedSampler({ root }) : root;
  return { sampler, root };
}

/**
 * Starts the SDK if the environment asks for it; undefined (and nothing loaded) otherwise. Loaded
 * lazily so that an operator without tracing never imports the SDK. `spanProcessor` replaces the
 * OTLP exporter (tests).
 */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  options: { spanProcessor?: SpanProcessor } = {},
): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    "http/protobuf"
  ).trim();
  if (protocol !== "http/protobuf")
    throw new TracingConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL ${protocol} is not supported: use http/protobuf`);
  const [api, core, sdk, resources, hooks, otlp] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
  ]);
  const { sampler, root } = await samplerFromEnv(env);
  const random = new sdk.RandomIdGenerator();
  const ids: DelegationIds = {
    traceId: undefined,
    spanId: undefined,
    generateTraceId() {
      return this.traceId ?? random.generateTraceId();
    },
    generateSpanId() {
      return this.spanId ?? random.generateSpanId();
    },
  };
  const resource = resources
    .resourceFromAttributes({ "service.name": DEFAULT_SERVICE_NAME })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const processor =
    options.spanProcessor ??
    new sdk.BatchSpanProcessor({
      // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, TLS) from process.env itself.
      exporter: new otlp.OTLPTraceExporter(),
      ...definedOnly({
        scheduledDelayMillis: positiveInt(env, "OTEL_BSP_SCHEDULE_DELAY"),
        maxQueueSize: positiveInt(env, "OTEL_BSP_MAX_QUEUE_SIZE"),
        maxExportBatchSize: positiveInt(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
        exportTimeoutMillis: positiveInt(env, "OTEL_BSP_EXPORT_TIMEOUT"),
      }),
    });
  const provider = new sdk.TracerProvider({ resource, sampler, idGenerator: ids, spanProcessors: [processor] });
  api.context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  api.diag.setLogger(
    {
      error: (message, ...args) => logger.warn({ otel: args }, `opentelemetry: ${message}`),
      warn: (message, ...args) => logger.warn({ otel: args }, `opentelemetry: ${message}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    api.DiagLogLevel.WARN,
  );
  const rootSampler: RootSampler = (traceId) =>
    root.shouldSample(api.ROOT_CONTEXT, traceId, "delegation", api.SpanKind.INTERNAL, {}, []).decision ===
    sdk.SamplingDecision.RECORD_AND_SAMPLED;
  setTracingState({ tracer: provider.getTracer("clawcrew"), ids, sampleRoot: rootSampler });
  logger.info(
    { service: resource.attributes["service.name"], sampler: sampler.toString() },
    "exporting traces over OTLP",
  );
  return {
    async shutdown() {
      setTracingState(undefined);
      api.trace.disable();
      api.propagation.disable();
      api.context.disable();
      await provider.shutdown().catch((error: unknown) => logger.warn({ err: error }, "flushing traces failed"));
    },
  };
}

function definedOnly<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}
