/** `clawcrew describe`: one Delegation's routing, timing, attempts and pods, parent chain and stages. */
import type { Delegation } from "../../api/delegation.ts";
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  OUTPUT_HELP,
  OUTPUT_OPTION,
  onePositional,
  outputFormat,
  parse,
} from "../args.ts";
import type { Command } from "../command.ts";
import { getDelegation } from "../delegations.ts";
import { EXIT_SUCCEEDED } from "../errors.ts";
import { type Cluster, connect, GVR } from "../kube.ts";
import { createdAt, durationOf, paint, phaseStyle, printData, table } from "../output.ts";
import { outcome } from "../progress.ts";

const OPTIONS = { ...CONNECTION_OPTIONS, ...OUTPUT_OPTION } as const;
/** spec.parent chains are at most maxDepth (≤ 10) long; the bound also stops a cycle. */
const MAX_CHAIN = 16;

export const describe: Command = {
  name: "describe",
  summary: "show a Delegation's attempts, pods, timing, parent chain and pipeline stages",
  help: `Usage: clawcrew describe DELEGATION [flags]

Flags:
${OUTPUT_HELP} ({delegation, parents})
${CONNECTION_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse("describe", argv, OPTIONS);
    const format = outputFormat("describe", values.output);
    const name = onePositional("describe", positionals, "DELEGATION");
    const cluster = connect(values);
    const d = await getDelegation(cluster, name);
    const parents = await parentChain(cluster, d);
    if (format !== "text") printData(out, format, { delegation: d, parents: parents.map((p) => p.name) });
    else for (const line of describeLines(d, parents, out.color)) out.line(line);
    return EXIT_SUCCEEDED;
  },
};

interface Parent {
  name: string;
  /** Unset when the parent is gone (finished and collected). */
  delegation?: Delegation;
}

/** The nearest parent first. */
async function parentChain(cluster: Cluster, d: Delegation): Promise<Parent[]> {
  const chain: Parent[] = [];
  let next = d.spec.parent;
  while (next && chain.length < MAX_CHAIN && !chain.some((p) => p.name === next)) {
    const parent = await cluster.client.getIfExists<Delegation>(cluster.path(GVR.delegations, next));
    chain.push({ name: next, ...(parent && { delegation: parent }) });
    next = parent?.spec.parent;
  }
  return chain;
}

export function describeLines(d: Delegation, parents: Parent[], color: boolean, now = Date.now()): string[] {
  const s = d.status ?? {};
  const field = (label: string, value: string | undefined) => (value ? [`${`${label}:`.padEnd(12)}${value}`] : []);
  const lines = [
    ...field("Name", d.metadata.name),
    ...field("Namespace", d.metadata.namespace),
    ...field("Team", d.spec.team),
    ...field("To", d.spec.to),
    ...field("Capability", d.spec.capability),
    ...field("From", d.spec.from),
    ...field("Outcome", paint(color, phaseStyle(s.phase), outcome(d))),
    ...field("Message", s.message),
    ...field("Agent", s.agent),
    ...field("Pod", s.pod),
    ...field("Created", createdAt(d.metadata)),
    ...field("Started", s.startTime),
    ...field("Completed", s.completionTime),
    ...field("Queued for", s.startTime ? durationOf(createdAt(d.metadata), s.startTime, now) : undefined),
    ...field("Duration", s.startTime ? durationOf(s.startTime, s.completionTime, now) : undefined),
    ...field("Tokens", s.usage?.totalTokens !== undefined ? String(s.usage.totalTokens) : undefined),
    ...field(
      "Result",
      s.resultRef
        ? `in ConfigMap ${s.resultRef.name} (key ${s.resultRef.key})`
        : s.result !== undefined
          ? `${Buffer.byteLength(s.result)} bytes inline`
          : undefined,
    ),
  ];
  if (parents.length) {
    lines.push("", "Parent chain:");
    for (const [i, p] of parents.entries()) {
      lines.push(`  ${"  ".repeat(i)}↑ ${p.name}${p.delegation ? `  ${outcome(p.delegation)}` : "  (gone)"}`);
    }
  }
  const attempts = s.attempts ?? [];
  lines.push("", "Attempts:");
  if (!attempts.length) lines.push("  none yet");
  else {
    const rows = attempts.map((a) => [
      String(a.number),
      a.agent ?? "-",
      a.pod ?? "-",
      a.startTime,
      durationOf(a.startTime, a.completionTime, now),
      a.outcome,
      [a.reason, a.message].filter(Boolean).join(": ") || "-",
    ]);
    lines.push(...table(["#", "AGENT", "POD", "STARTED", "DURATION", "OUTCOME", "REASON"], rows).map((l) => `  ${l}`));
  }
  if (s.stages?.length) {
    lines.push("", "Pipeline stages:");
    const rows = s.stages.map((st) => [
      String(st.index),
      st.agent,
      paint(color, phaseStyle(st.phase), st.phase),
      st.delegation ?? "-",
    ]);
    lines.push(...table(["STAGE", "AGENT", "PHASE", "DELEGATION"], rows).map((l) => `  ${l}`));
  }
  return lines;
}
