/** Errors of the test pod network: the local cluster's error hierarchy (hack/cluster/errors.ts) under PodNetError. */
import { LocalClusterError } from "../errors.ts";

/** Base class: anything that went wrong with the pod network. */
export class PodNetError extends LocalClusterError {}

/** Another live process holds the pod network's lock. */
export class PodNetBusyError extends PodNetError {
  readonly holderPid: number;
  constructor(lockFile: string, holderPid: number) {
    super(`the pod network is in use by pid ${holderPid} (lock ${lockFile})`);
    this.holderPid = holderPid;
  }
}

/** The host already has an address or route that overlaps the pod range; refusing to shadow it. */
export class AddressConflictError extends PodNetError {}

/** A command (ip, …) failed or timed out. */
export class CommandError extends PodNetError {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(command: string, exitCode: number | null, stderr: string, reason?: string) {
    super(
      `${command} failed${reason ? ` (${reason})` : exitCode === null ? "" : ` with code ${exitCode}`}: ${stderr.trim()}`,
    );
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** A pod's network sandbox could not be created. */
export class SandboxError extends PodNetError {}

/** A pod asks for something the pod agent does not support (an env source, a volume shape). */
export class PodSpecError extends PodNetError {}

/** A pod's process did not answer its readiness probe in time. */
export class PodReadinessTimeoutError extends PodNetError {}

/** The process of a pod could not be started. */
export class PodProcessError extends PodNetError {}
