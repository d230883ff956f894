/** A small reader of the Prometheus text exposition format, for before/after deltas of counters. */

export type Samples = Map<string, number>;

/** Fetches and parses a plain-HTTP metrics endpoint (http://<hostPort>/metrics): "name{labels}" → value. */
export async function scrape(hostPort: string, signal?: AbortSignal): Promise<Samples> {
  const res = await fetch(`http://${hostPort}/metrics`, { signal: signal ?? null });
  if (!res.ok) throw new Error(`GET http://${hostPort}/metrics: ${res.status}`);
  return parse(await res.text());
}

export function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    if (space < 0) continue;
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/**
 * Sum of every sample of metric `name` whose label text (`{a="x",b="y"}`) passes `filter`; a string
 * filter must occur in it, e.g. `controller="agent"`.
 */
export function sum(
  samples: Samples,
  name: string,
  filter: string | ((labels: string) => boolean) = () => true,
): number {
  const test = typeof filter === "string" ? (labels: string) => labels.includes(filter) : filter;
  let total = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf("{");
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric === name && test(brace < 0 ? "" : key.slice(brace))) total += value;
  }
  return total;
}

/** Every sample of metric `name`, with its labels parsed. */
export function series(samples: Samples, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const [key, value] of samples) {
    const brace = key.indexOf("{");
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    const labels: Record<string, string> = {};
    for (const m of key.slice(brace + 1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    out.push({ labels, value });
  }
  return out;
}
