import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { ProcessExitedError } from "../errors.ts";

export interface ExitStatus {
  code: number | null;
  signal: string | null;
  /** Set when the binary could not be started at all (for example ENOENT). */
  error?: Error;
}

export interface StartProcessOptions {
  /** Component name, used in errors and logs (for example "kube-apiserver"). */
  name: string;
  binary: string;
  args: readonly string[];
  /** stdout and stderr are appended to this file. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Last `lines` lines of a log file ("" if it cannot be read). */
export function tailFile(path: string, lines = 40): string {
  try {
    const text = readFileSync(path, "utf8");
    return text
      .split("\n")
      .slice(-lines - 1)
      .join("\n")
      .trimEnd();
  } catch {
    return "";
  }
}

// Every live child and every temporary directory, so that an exiting parent can clean up
// synchronously even when nobody called stop() (uncaught error, process.exit, signals).
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", emergencyCleanup);
}

/**
 * Registers a synchronous clean-up (for example removing network namespaces) that
 * emergencyCleanup() runs before it kills the children. Returns the unregister function.
 */
export function registerExitCleanup(cleanup: () => void): () => void {
  installExitHook();
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

/** Runs registered clean-ups, kills every child with SIGKILL and removes registered directories, synchronously. */
export function emergencyCleanup(): void {
  for (const cleanup of [...exitCleanups]) {
    exitCleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // best effort
    }
  }
  for (const child of liveChildren) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  liveDirs.clear();
}

/** Registers a directory to be removed by emergencyCleanup(). */
export function registerTempDir(dir: string): void {
  installExitHook();
  liveDirs.add(dir);
}

export function unregisterTempDir(dir: string): void {
  liveDirs.delete(dir);
}

/**
 * On SIGINT/SIGTERM/SIGHUP: kill every child and remove temporary directories, then let the
 * signal do what it would have done (re-raised when nobody else listens for it). For hosts such
 * as a test runner that do not wait for asynchronous teardown on a signal.
 */
export function installSignalCleanup(): () => void {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const handlers = signals.map((signal) => {
    const handler = () => {
      emergencyCleanup();
      remove();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const remove = () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
  return remove;
}

/** A supervised child process whose output goes to a log file. */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  #child: ChildProcess;
  #status: ExitStatus | undefined;
  #stopping = false;

  constructor(options: StartProcessOptions) {
    installExitHook();
    this.name = options.name;
    this.logFile = options.logFile;
    const fd = openSync(options.logFile, "a");
    try {
      // detached: own process group, so a terminal's Ctrl-C reaches only the parent, which then
      // stops the components in order.
      this.#child = spawn(options.binary, options.args, {
        stdio: ["ignore", fd, fd],
        env: options.env ?? process.env,
        cwd: options.cwd,
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    this.pid = this.#child.pid;
    liveChildren.add(this.#child);
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.#child.once("error", (error) => {
        // Spawn failures emit "error" without "exit".
        if (this.#child.pid === undefined) this.#settle({ code: null, signal: null, error }, resolve);
      });
      this.#child.once("exit", (code, signal) => this.#settle({ code, signal }, resolve));
    });
  }

  #settle(status: ExitStatus, resolve: (status: ExitStatus) => void): void {
    if (this.#status !== undefined) return;
    this.#status = status;
    liveChildren.delete(this.#child);
    resolve(status);
  }

  get running(): boolean {
    return this.#status === undefined;
  }

  /** True once stop() was called: an exit after that is expected. */
  get stopping(): boolean {
    return this.#stopping;
  }

  logTail(lines = 40): string {
    return tailFile(this.logFile, lines);
  }

  /** The error describing how this process ended (call after it exited). */
  exitError(): ProcessExitedError {
    const status = this.#status ?? { code: null, signal: null };
    return new ProcessExitedError(this.name, status.code, status.signal, this.logFile, this.logTail(), status.error);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 10_000): Promise<ExitStatus> {
    this.#stopping = true;
    if (this.#status !== undefined) return this.#status;
    this.#child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#child.kill("SIGKILL");
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}
