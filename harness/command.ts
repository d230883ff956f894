/** Runs iproute2 and friends with a time limit; errors are CommandError. */
import { execFile, execFileSync } from "node:child_process";
import { CommandError } from "./errors.ts";

const DEFAULT_TIMEOUT_MS = 15_000;

/** Runs `file args…` and resolves with its stdout; rejects with CommandError on failure or timeout. */
export function run(file: string, args: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = typeof error.code === "number" ? error.code : null;
      const reason = error.killed ? `timed out after ${timeoutMs} ms` : undefined;
      reject(new CommandError([file, ...args].join(" "), code, stderr || error.message, reason));
    });
  });
}

export const ip = (...args: string[]) => run("ip", args);

/** Synchronous variant for exit hooks; returns stdout, or undefined when the command failed. */
export function runSync(file: string, args: readonly string[], timeoutMs = 5_000): string | undefined {
  try {
    return execFileSync(file, args, { timeout: timeoutMs, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
}
