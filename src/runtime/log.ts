/** The operator's loggers: JSON lines, with credentials and Secret contents redacted wherever they appear. */
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

const SECRET_KEYS = ["authorization", "token", "data", "stringData"];

/**
 * Redacted at the top level and up to two objects deep (`err.response.headers.authorization` too:
 * `*` matches one key). A Secret logged whole loses its data, a request its bearer token.
 */
export const REDACTED_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);

export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, destination);
}

/** The logger runtime components use when none is passed: JSON lines on stdout, level from LOG_LEVEL. */
export const defaultLogger: Logger = createLogger("clawcrew", process.env.LOG_LEVEL ?? "info");

/** Log fields of an error: message and the API status code/reason when there is one. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { err: String(error) };
  const { statusCode, reason } = error as { statusCode?: unknown; reason?: unknown };
  return { err: error.message, errName: error.name, ...(statusCode !== undefined && { statusCode, reason }) };
}
