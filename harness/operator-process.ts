/** Runs the real operator (src/main.ts, or its build) as a child process, as a Deployment would. */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageEntrypointError } from "./errors.ts";
import { repoRoot } from "./manifests.ts";

export interface OperatorProcess {
  child: ChildProcess;
  identity: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  logFile: string;
  /** host:port of /metrics, of /healthz and /readyz, and of the delegation endpoint. */
  metrics: () => string | undefined;
  probes: () => string | undefined;
  delegation: () => string | undefined;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * How the image runs the operator, read from the Dockerfile's last stage: the node flags and entry
 * point of its `ENTRYPOINT ["node", ...flags, entry]` and the variables its `ENV KEY=value` lines set.
 */
export function imageEntrypoint(dockerfile = join(repoRoot, "Dockerfile")): {
  nodeArgs: string[];
  entry: string;
  env: Record<string, string>;
} {
  const lines = readFileSync(dockerfile, "utf8").split("\n");
  const stage = lines.slice(lines.findLastIndex((l) => l.startsWith("FROM ")));
  const line = stage.find((l) => l.startsWith("ENTRYPOINT "));
  const argv: unknown = line ? JSON.parse(line.slice("ENTRYPOINT ".length)) : undefined;
  const strings = Array.isArray(argv) && argv.every((a) => typeof a === "string") ? (argv as string[]) : [];
  const entry = strings.at(-1);
  if (strings[0] !== "node" || strings.length < 2 || !entry)
    throw new ImageEntrypointError(`${dockerfile}: expected ENTRYPOINT ["node", ...flags, "<entry>"]`);
  const env: Record<string, string> = {};
  for (const l of stage) {
    const match = /^ENV ([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(l);
    if (l.startsWith("ENV ") && !match)
      throw new ImageEntrypointError(`${dockerfile}: expected ENV KEY=value, got: ${l}`);
    if (match) env[match[1]!] = match[2]!;
  }
  return { nodeArgs: strings.slice(1, -1), entry, env };
}

export interface OperatorProcessOptions {
  /** The entry point: default src/main.ts; `dist/main.js` (after `npm run build`) runs what the image runs. */
  entry?: string;
  /** Flags for node itself, before the entry point. */
  nodeArgs?: string[];
  /** Added to the environment. */
  env?: Record<string, string>;
}

export async function startOperator(
  kubeconfig: string,
  identity: string,
  args: string[] = [],
  options: OperatorProcessOptions = {},
): Promise<OperatorProcess> {
  const dir = await mkdtemp(join(tmpdir(), "clawcrew-operator-"));
  const logFile = join(dir, `${identity}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      join(repoRoot, options.entry ?? "src/main.ts"),
      `--kubeconfig=${kubeconfig}`,
      `--identity=${identity}`,
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=127.0.0.1:0",
      "--delegation-bind-address=127.0.0.1:0",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env, POD_NAME: identity } },
  );
  const logs: Record<string, unknown>[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    out.write(chunk);
    buffer += chunk.toString();
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
      newline = buffer.indexOf("\n");
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => out.write(chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const field = (key: string) => () => logs.find((l) => typeof l[key] === "string")?.[key] as string | undefined;
  return {
    child,
    identity,
    logs,
    logFile,
    metrics: field("metrics"),
    probes: field("probes"),
    delegation: field("delegation"),
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
