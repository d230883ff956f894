/** The CLI's errors and exit codes: each error class carries the code the process exits with. */

export const EXIT_SUCCEEDED = 0;
/** The Delegation failed or was cancelled, or a request failed. */
export const EXIT_FAILED = 1;
/** Bad arguments, as most CLIs do. */
export const EXIT_USAGE = 2;
/** The task ran out of time (reason TimedOut), or --wait gave up: the number GNU timeout uses. */
export const EXIT_TIMEOUT = 124;

export class CliError extends Error {
  override readonly name: string = "CliError";
  readonly exitCode: number = EXIT_FAILED;
}

/** A bad flag or argument; the message names it. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  override readonly exitCode = EXIT_USAGE;
}

/** --wait ended before the Delegation finished. */
export class WaitTimeoutError extends CliError {
  override readonly name = "WaitTimeoutError";
  override readonly exitCode = EXIT_TIMEOUT;
}
