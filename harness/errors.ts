/**
 * Every error the harness throws: one hierarchy under HarnessError, so that a caller can tell a broken
 * harness (a cluster that did not start, a host that lacks something) from a failing assertion.
 */

/** Base class: anything that went wrong in the harness. `name` is the concrete class's name. */
export class HarnessError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A host command (ip, ctr, …) failed or timed out. */
export class CommandError extends HarnessError {
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

/** kubectl exited with a code other than 0. */
export class KubectlError extends HarnessError {
  readonly args: readonly string[];
  readonly exitCode: number;
  readonly stderr: string;
  constructor(args: readonly string[], exitCode: number, stderr: string) {
    super(`kubectl ${args.join(" ")} failed (${exitCode}): ${stderr}`);
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** A kubeconfig lacks what the harness needs from it. */
export class KubeconfigError extends HarnessError {}

/** A condition polled by eventually() did not hold within its time limit. */
export class ConditionTimeoutError extends HarnessError {}

/** etcd could not be found or did not do what the test asked (compaction). */
export class EtcdError extends HarnessError {}

/** The Dockerfile's last stage does not run the operator the way imageEntrypoint() reads it. */
export class ImageEntrypointError extends HarnessError {}

/** Installing clawcrew with helm failed. */
export class InstallError extends HarnessError {}

/** A health probe's GET got no answer within its time limit. */
export class ProbeTimeoutError extends HarnessError {}

/** No free TCP port could be taken. */
export class PortAllocationError extends HarnessError {}

/** Anything that went wrong with the local control plane. */
export class ControlPlaneError extends HarnessError {}

/** hack/control-plane-bins.sh failed or printed no usable binaries. */
export class BinariesError extends ControlPlaneError {}

/** A component exited while it was expected to keep running. */
export class ProcessExitedError extends ControlPlaneError {
  readonly component: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly logFile: string;

  constructor(
    component: string,
    exitCode: number | null,
    signal: string | null,
    logFile: string,
    logTail: string,
    startError?: Error,
  ) {
    const what = startError
      ? `${component} could not be started: ${startError.message}`
      : `${component} exited with ${signal ? `signal ${signal}` : `code ${exitCode}`}`;
    super(`${what} (log: ${logFile})\n--- last lines of ${component}'s log ---\n${logTail}`);
    this.component = component;
    this.exitCode = exitCode;
    this.signal = signal;
    this.logFile = logFile;
  }
}

/** A readiness condition did not hold within its time limit. */
export class ReadinessTimeoutError extends ControlPlaneError {}

/** Start-up was cancelled through the AbortSignal passed in the options. */
export class StartAbortedError extends ControlPlaneError {}

/** Anything that went wrong with the real node: its host set-up, images or components. */
export class RealNodeError extends HarnessError {}

/** Another live process runs a real node on this host (it holds the lock). */
export class RealNodeBusyError extends RealNodeError {
  readonly holderPid: number;
  constructor(lockFile: string, holderPid: number) {
    super(`a real node is running already, in pid ${holderPid} (lock ${lockFile})`);
    this.holderPid = holderPid;
  }
}

/** The host lacks something the node needs (root, containerd, runc, the CNI plugins, iptables). */
export class HostRequirementError extends RealNodeError {}

/** Anything that went wrong with the test pod network. */
export class PodNetError extends HarnessError {}

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

/** A pod's network sandbox could not be created. */
export class SandboxError extends PodNetError {}

/** A pod asks for something the pod agent does not support (an env source, a volume shape). */
export class PodSpecError extends PodNetError {}

/** A pod's process did not answer its readiness probe in time. */
export class PodReadinessTimeoutError extends PodNetError {}

/** The process of a pod could not be started. */
export class PodProcessError extends PodNetError {}

/** The gitops-health helper could not be built or run. */
export class GitopsHealthError extends HarnessError {}

/** The Jaeger trace backend did not build, start or answer. */
export class JaegerError extends HarnessError {}
