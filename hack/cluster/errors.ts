/** Errors raised while starting or stopping the local control plane. */

/** Base class: anything that went wrong with the local control plane. */
export class ControlPlaneError extends Error {
  override name = "ControlPlaneError";
}

/** hack/control-plane-bins.sh failed or printed no usable binaries. */
export class BinariesError extends ControlPlaneError {
  override name = "BinariesError";
}

/** A component exited while it was expected to keep running. */
export class ProcessExitedError extends ControlPlaneError {
  override name = "ProcessExitedError";
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
export class ReadinessTimeoutError extends ControlPlaneError {
  override name = "ReadinessTimeoutError";
}

/** Start-up was cancelled through the AbortSignal passed in the options. */
export class StartAbortedError extends ControlPlaneError {
  override name = "StartAbortedError";
}
