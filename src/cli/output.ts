/** Text output: tables, durations, colour (only on a TTY, never with NO_COLOR), and json/yaml. */
import { dump } from "js-yaml";
import type { OutputFormat } from "./args.ts";

export interface Output {
  /** A line to stdout. */
  line(text?: string): void;
  /** A progress or diagnostic line to stderr: stdout stays the data. */
  note(text: string): void;
  readonly color: boolean;
}

export function processOutput(): Output {
  return {
    line: (text = "") => process.stdout.write(`${text}\n`),
    note: (text) => process.stderr.write(`${text}\n`),
    color: useColor(process.stdout.isTTY === true, process.env),
  };
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off; FORCE_COLOR=0 too. */
export function useColor(isTTY: boolean, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR === "0") return false;
  return isTTY && env.TERM !== "dumb";
}

const CODES = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;
export type Style = keyof typeof CODES;

export function paint(color: boolean, style: Style, text: string): string {
  return color ? `\x1b[${CODES[style]}m${text}\x1b[0m` : text;
}

/** The colour of a phase: green when it succeeded, red when it failed, yellow while it runs. */
export function phaseStyle(phase: string | undefined): Style {
  if (phase === "Succeeded") return "green";
  if (phase === "Failed") return "red";
  return "yellow";
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping our own colour codes
const ANSI = /\x1b\[\d+m/g;
const visibleLength = (text: string) => text.replace(ANSI, "").length;

/** Columns padded to their widest cell, separated by three spaces, like kubectl get. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ""))));
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat(widths[i]! - visibleLength(cell))))
      .join("   ")
      .trimEnd();
  return [render(header), ...rows.map(render)];
}

/** `850ms`, `12s`, `3m05s`, `2h10m`, `4d3h`: kubectl's age style, with milliseconds under a second. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** Milliseconds between two RFC 3339 times; `end` defaults to now (still running). */
export function between(start: string | undefined, end: string | undefined, now = Date.now()): number | undefined {
  if (!start) return undefined;
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  return Number.isNaN(from) || Number.isNaN(to) ? undefined : to - from;
}

export function durationOf(start: string | undefined, end: string | undefined, now = Date.now()): string {
  const ms = between(start, end, now);
  return ms === undefined ? "-" : formatDuration(ms);
}

export function printData(out: Output, format: Exclude<OutputFormat, "text">, data: unknown): void {
  if (format === "json") out.line(JSON.stringify(data, null, 2));
  else out.line(dump(data, { noRefs: true, lineWidth: -1 }).trimEnd());
}

/** metadata.creationTimestamp as a string (the schema leaves its type open). */
export function createdAt(metadata: object): string | undefined {
  const t = (metadata as { creationTimestamp?: unknown }).creationTimestamp;
  return typeof t === "string" ? t : t instanceof Date ? t.toISOString() : undefined;
}
