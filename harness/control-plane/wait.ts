import { ReadinessTimeoutError, StartAbortedError } from "../errors.ts";
import type { ManagedProcess } from "./process.ts";

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Fail at once (with the process's log tail) if one of these exits. */
  processes?: readonly ManagedProcess[];
  signal?: AbortSignal | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StartAbortedError("control plane start-up was aborted");
}

/**
 * Polls `check` until it returns a value other than undefined. Errors thrown by `check` count as
 * "not yet" and the last one is reported on timeout.
 */
export async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined>,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 250;
  let lastError: unknown;
  for (;;) {
    throwIfAborted(options.signal);
    for (const process of options.processes ?? []) {
      if (!process.running) throw process.exitError();
    }
    try {
      const result = await check();
      if (result !== undefined) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
      const logs = (options.processes ?? [])
        .map((p) => `--- last lines of ${p.name}'s log (${p.logFile}) ---\n${p.logTail(20)}`)
        .join("\n");
      throw new ReadinessTimeoutError(
        `timed out after ${options.timeoutMs} ms waiting for ${description}${reason}${logs ? `\n${logs}` : ""}`,
      );
    }
    await sleep(interval);
  }
}
