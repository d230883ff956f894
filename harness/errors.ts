/**
 * Errors of the local cluster: its control plane (this directory) and the test pod network
 * (test/support/podnet/errors.ts), one hierarchy under LocalClusterError.
 */

/** Base class: anything that went wrong with the local cluster. `name` is the concrete class's name. */
export class LocalClusterError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Anything that went wrong with the local control plane. */
export class ControlPlaneError extends LocalClusterError {}

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
