/** The logger runtime components use when none is passed: JSON lines on stdout, level from LOG_LEVEL. */
import { type Logger, pino } from "pino";

export type { Logger };

export const defaultLogger: Logger = pino({ name: "clawcrew", level: process.env.LOG_LEVEL ?? "info" });

/** Log fields of an error: message and the API status code/reason when there is one. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { err: String(error) };
  const { statusCode, reason } = error as { statusCode?: unknown; reason?: unknown };
  return { err: error.message, errName: error.name, ...(statusCode !== undefined && { statusCode, reason }) };
}
