import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BinariesError, StartAbortedError } from "../errors.ts";

export const REQUIRED_BINARIES = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kwok",
] as const;
export type BinaryName = (typeof REQUIRED_BINARIES)[number];
export type Binaries = Record<BinaryName, string> & Record<string, string>;

export const BINARIES_SCRIPT = fileURLToPath(new URL("../../hack/control-plane-bins.sh", import.meta.url));

/** Parses the `name=/abs/path` lines printed by hack/control-plane-bins.sh. */
export function parseBinariesOutput(stdout: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const match = /^([A-Za-z0-9_.-]+)=(\/\S.*)$/.exec(line.trim());
    if (match?.[1] && match[2]) result[match[1]] = match[2];
  }
  return result;
}

/**
 * Runs hack/control-plane-bins.sh (which builds missing binaries into ~/.cache/clawcrew/bin,
 * taking many minutes the first time) and returns the path of each binary. Progress lines of
 * the script go to `log`.
 */
export function resolveBinaries(log: (line: string) => void, signal?: AbortSignal): Promise<Binaries> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new StartAbortedError("control plane start-up was aborted"));
      return;
    }
    // Own process group, so that an abort also stops the `go build` children of the script.
    const child = spawn("bash", [BINARIES_SCRIPT], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const onAbort = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    let stdout = "";
    let stderrTail: string[] = [];
    let pending = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("[control-plane-bins]")) log(line);
        stderrTail.push(line);
      }
      stderrTail = stderrTail.slice(-40);
    });
    child.once("error", (error) => reject(new BinariesError(`cannot run ${BINARIES_SCRIPT}: ${error.message}`)));
    child.once("close", (code, sig) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) {
        reject(new StartAbortedError("control plane start-up was aborted while resolving binaries"));
        return;
      }
      const tail = [...stderrTail, pending].join("\n").trim();
      if (code !== 0) {
        reject(new BinariesError(`${BINARIES_SCRIPT} failed (${sig ?? `code ${code}`})\n${tail}`));
        return;
      }
      const found = parseBinariesOutput(stdout);
      const missing = REQUIRED_BINARIES.filter((name) => !found[name]);
      if (missing.length > 0) {
        reject(new BinariesError(`${BINARIES_SCRIPT} printed no path for ${missing.join(", ")}\n${stdout}`));
        return;
      }
      resolve(found as Binaries);
    });
  });
}
