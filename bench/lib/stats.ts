/** Percentiles and markdown formatting for benchmark reports. */

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples: the smallest value with ≥ p% at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: samples.length ? Math.max(...samples) : Number.NaN,
  };
}

/** 1.2 ms, 12 ms, 345 ms, 1.23 s, 12.3 s */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 10_000) return `${(value / 1000).toFixed(2)} s`;
  return `${(value / 1000).toFixed(1)} s`;
}

export function mib(kib: number | undefined): string {
  return kib === undefined ? "–" : `${(kib / 1024).toFixed(1)} MiB`;
}

/** A markdown table; cells are used as given. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ("l" | "r")[]) {
  const sep = header.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
  return [header, sep, ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}
