/** Runs the real operator (src/main.ts) as a child process, as a Deployment would. */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

export async function startOperator(
  kubeconfig: string,
  identity: string,
  args: string[] = [],
): Promise<OperatorProcess> {
  const dir = await mkdtemp(join(tmpdir(), "clawcrew-operator-"));
  const logFile = join(dir, `${identity}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "src/main.ts"),
      `--kubeconfig=${kubeconfig}`,
      `--identity=${identity}`,
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=127.0.0.1:0",
      "--delegation-bind-address=127.0.0.1:0",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, POD_NAME: identity } },
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
