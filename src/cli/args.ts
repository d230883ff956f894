/** Flags every command shares, and parseArgs errors turned into one-line UsageErrors naming the flag. */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

export const CONNECTION_OPTIONS = {
  namespace: { type: "string", short: "n" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export const OUTPUT_OPTION = { output: { type: "string", short: "o" } } as const satisfies Options;

export const CONNECTION_HELP = `  -n, --namespace NS     namespace (default: the context's, else "default")
      --kubeconfig FILE  kubeconfig file (default: $KUBECONFIG, ~/.kube/config)
      --context NAME     kubeconfig context (default: current-context)
  -h, --help             this help`;

export const OUTPUT_HELP = "  -o, --output FORMAT    json or yaml instead of text";

export interface Parsed<T extends Options> {
  // biome-ignore lint/suspicious/noExplicitAny: parseArgs' value types depend on the config
  values: { [K in keyof T]?: any };
  positionals: string[];
}

/** parseArgs with the command's name in every error, e.g. `delegate: unknown option '--tx'`. */
export function parse<T extends Options>(command: string, argv: string[], options: T): Parsed<T> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Parsed<T>["values"], positionals };
  } catch (error) {
    const first = String((error as Error).message)
      .split(/\.\s/)[0]!
      .replace(/\.$/, "");
    throw new UsageError(`${command}: ${first.charAt(0).toLowerCase()}${first.slice(1)}`);
  }
}

export type OutputFormat = "text" | "json" | "yaml";

export function outputFormat(command: string, value: string | undefined): OutputFormat {
  if (value === undefined) return "text";
  if (value === "json" || value === "yaml") return value;
  throw new UsageError(`${command}: --output must be json or yaml, not "${value}"`);
}

/** Exactly one positional argument, named in the error when missing or doubled. */
export function onePositional(command: string, positionals: string[], what: string): string {
  if (positionals.length === 1) return positionals[0]!;
  if (!positionals.length) throw new UsageError(`${command}: missing ${what}`);
  throw new UsageError(`${command}: takes one ${what}, got ${positionals.length}: ${positionals.join(" ")}`);
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration (`90s`, `5m`, `1h30m`, `500ms`); a bare number is seconds. */
export function parseDuration(flag: string, text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) {
    throw new UsageError(`${flag}: "${text}" is not a duration (e.g. 90s, 5m, 1h30m)`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS_MS[p[2]!]!, 0);
}
