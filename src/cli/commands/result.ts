/** `clawcrew result`: the whole result of a finished Delegation. */
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
import { getDelegation, resultOf } from "../delegations.ts";
import { CliError } from "../errors.ts";
import { connect } from "../kube.ts";
import { printData } from "../output.ts";
import { exitCodeOf, isFinished, outcome } from "../progress.ts";

const OPTIONS = { ...CONNECTION_OPTIONS, ...OUTPUT_OPTION } as const;

export const result: Command = {
  name: "result",
  summary: "print a Delegation's whole result",
  help: `Usage: clawcrew result DELEGATION [flags]

Prints the whole result, also when it is longer than status.result holds (then it is read from the
ConfigMap that status.resultRef names). Exits 1 when the Delegation failed, 124 when it timed out.

Flags:
${OUTPUT_HELP} ({name, outcome, result})
${CONNECTION_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse("result", argv, OPTIONS);
    const format = outputFormat("result", values.output);
    const name = onePositional("result", positionals, "DELEGATION");
    const cluster = connect(values);
    const d = await getDelegation(cluster, name);
    if (!isFinished(d))
      throw new CliError(`Delegation ${name} has not finished (phase ${d.status?.phase ?? "Pending"})`);
    const text = await resultOf(cluster, d);
    if (format !== "text") printData(out, format, { name, outcome: outcome(d), result: text ?? null });
    else if (text !== undefined) out.line(text);
    else out.note(`${name}: ${outcome(d)}${d.status?.message ? `: ${d.status.message}` : ""} (no result)`);
    return exitCodeOf(d);
  },
};
