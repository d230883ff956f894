/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`, e.g. bench/delegation-routing.ts
 * --cpu-profile DIR): self time by function and by source area (our modules by folder, and
 * node_modules by package, node: internals, GC, idle), as markdown tables on stdout.
 *
 *   hack/node24.sh node bench/cpu-profile.ts PROFILE.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { exitOnHelp, intOption } from "./lib/options.ts";

const USAGE = "usage: hack/node24.sh node bench/cpu-profile.ts PROFILE.cpuprofile [--top N]";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a folder of ours, an npm package, node internals, or V8's own work. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node: internals";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm: ${pkg[1]}`;
  const ours = /\/(src|dist)\/([^/]+)\//.exec(url);
  if (ours) return `clawcrew: ${ours[2]}/`;
  return url.replace(/^file:\/\//, "");
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: "string", default: "25" }, help: { type: "boolean", short: "h", default: false } },
    allowPositionals: true,
  });
  exitOnHelp(values.help || positionals.length !== 1, USAGE);
  const top = intOption("top", values.top, 1, 500);
  const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idleUs = [...selfUs]
    .filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)")
    .reduce((a, [, us]) => a + us, 0);
  const busy = total - idleUs;

  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") continue;
    const where = url ? `${url.replace(/^.*\/(src|dist|node_modules)\//, "$1/")}:${lineNumber + 1}` : "";
    const fn = `${functionName || "(anonymous)"} ${where}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1)} %`;
  const rows = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `| ${k.replaceAll("|", "\\|")} | ${(us / 1000).toFixed(0)} ms | ${pct(us)} |`);
  const out = [
    `Profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (not idle).`,
    "",
    "| area (self time) | CPU | of busy |",
    "| --- | ---: | ---: |",
    ...rows(areas, 40),
    "",
    `| top ${top} functions (self time) | CPU | of busy |`,
    "| --- | ---: | ---: |",
    ...rows(functions, top),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

main();
