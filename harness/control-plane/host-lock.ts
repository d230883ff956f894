/**
 * A lock file holding "<pid> <start time>": one user of a host-wide resource (the pod network's
 * bridge, the real node's bridge and ports) at a time. A lock whose process is gone is stale: its
 * owner died, so the caller removes the leftovers and takes the lock.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";

/** The start time of a process (field 22 of /proc/<pid>/stat), or undefined when it does not exist. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function lockHolder(lockFile: string): { pid: number; alive: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(lockFile, "utf8");
  } catch {
    return undefined;
  }
  const [pidText, start] = text.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, alive: false };
  return { pid, alive: processStartTime(pid) !== undefined && processStartTime(pid) === start };
}

export interface TakeLockOptions {
  /** The error when a live process holds the lock. */
  busy: (holderPid: number) => Error;
  /** Removes what the dead holder left behind, before the lock is taken over. */
  removeLeftovers: (deadPid: number) => void;
  /** The error when the lock could not be taken at all. */
  failed: () => Error;
}

export function takeLock(lockFile: string, options: TakeLockOptions): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockFile, "wx", 0o644);
      writeSync(fd, `${process.pid} ${processStartTime(process.pid)}\n`);
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = lockHolder(lockFile);
    if (holder?.alive) throw options.busy(holder.pid);
    options.removeLeftovers(holder?.pid ?? 0);
    rmSync(lockFile, { force: true });
  }
  throw options.failed();
}

/** Removes the lock if this process holds it. */
export function releaseLock(lockFile: string): void {
  if (lockHolder(lockFile)?.pid === process.pid) rmSync(lockFile, { force: true });
}
