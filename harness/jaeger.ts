/**
 * Jaeger (v2, github.com/jaegertracing/jaeger/cmd/jaeger at the version in harness/jaeger/go.mod) as
 * the trace backend of tests: built once into the cache, keyed by its go.mod and go.sum (a cold build
 * takes about 12 minutes on two cores), and run on loopback with in-memory storage: OTLP/HTTP in, its
 * query API out.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "./control-plane/ports.ts";
import { JaegerError } from "./errors.ts";

const MODULE_DIR = fileURLToPath(new URL("./jaeger", import.meta.url));
const PACKAGE = "github.com/jaegertracing/jaeger/cmd/jaeger";
const BUILD_TIMEOUT_MS = 30 * 60_000;

function cacheDir(): string {
  return process.env.CLAWCREW_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "clawcrew");
}

let built: Promise<string> | undefined;

/** The jaeger binary's path; built on first use. */
export function jaegerBinary(): Promise<string> {
  built ??= (async () => {
    const hash = createHash("sha256");
    for (const file of ["go.mod", "go.sum"]) hash.update(file).update(readFileSync(join(MODULE_DIR, file)));
    const bin = join(cacheDir(), "bin");
    const path = join(bin, `jaeger-${hash.digest("hex").slice(0, 12)}`);
    if (existsSync(path)) return path;
    mkdirSync(bin, { recursive: true });
    // Built beside its final name and renamed, so a concurrent or interrupted build never leaves half a binary.
    const partial = `${path}.${process.pid}.partial`;
    const env = { ...process.env, GOFLAGS: "-mod=mod -buildvcs=false", CGO_ENABLED: "0", GOTOOLCHAIN: "local" };
    await new Promise<void>((resolve, reject) => {
      execFile(
        "go",
        ["build", "-trimpath", "-o", partial, PACKAGE],
        { cwd: MODULE_DIR, env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
        (error, _stdout, stderr) =>
          error ? reject(new JaegerError(`go build ${PACKAGE} failed: ${stderr || error.message}`)) : resolve(),
      );
    });
    renameSync(partial, path);
    return path;
  })();
  return built;
}

/** One span as Jaeger's query API returns it. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

export interface Jaeger {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpEndpoint: string;
  /** The trace, or undefined while Jaeger has none by that id. */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
  logFile: string;
  stop(): Promise<void>;
}

function config(otlp: number, query: number, grpc: number): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${query}
    grpc:
      endpoint: 127.0.0.1:${grpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlp}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** Starts Jaeger on free loopback ports and waits until its query API answers. */
export async function startJaeger(): Promise<Jaeger> {
  const binary = await jaegerBinary();
  const dir = await mkdtemp(join(tmpdir(), "clawcrew-jaeger-"));
  const [otlp, query, grpc] = await freePorts(3, "127.0.0.1");
  const configFile = join(dir, "config.yaml");
  writeFileSync(configFile, config(otlp!, query!, grpc!));
  const logFile = join(dir, "jaeger.log");
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(binary, ["--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const base = `http://127.0.0.1:${query}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new JaegerError(`jaeger exited with ${child.exitCode}: see ${logFile}`);
    const ok = await fetch(`${base}/api/services`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new JaegerError(`jaeger did not answer within 60 s: see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    otlpEndpoint: `http://127.0.0.1:${otlp}`,
    logFile,
    async trace(traceId) {
      const response = await fetch(`${base}/api/traces/${traceId}`);
      if (response.status === 404) return undefined;
      if (!response.ok)
        throw new JaegerError(`GET /api/traces/${traceId}: ${response.status} ${await response.text()}`);
      const body = (await response.json()) as { data?: JaegerTrace[] };
      return body.data?.[0];
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      log.end();
    },
  };
}
