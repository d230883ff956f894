#!/usr/bin/env node
/** clawcrew (also the kubectl plugin kubectl-clawcrew): send tasks to agent teams and read their results. */
import { KubeApiError } from "../runtime/errors.ts";
import type { Command } from "./command.ts";
import { cancel } from "./commands/cancel.ts";
import { delegate } from "./commands/delegate.ts";
import { describe } from "./commands/describe.ts";
import { result } from "./commands/result.ts";
import { status } from "./commands/status.ts";
import { CliError, EXIT_FAILED, EXIT_SUCCEEDED, EXIT_USAGE } from "./errors.ts";
import { type Output, processOutput } from "./output.ts";

const COMMANDS: Command[] = [delegate, status, result, cancel, describe];

const HELP = `Usage: clawcrew COMMAND [flags]    (or: kubectl clawcrew COMMAND [flags])

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join("\n")}

Run "clawcrew COMMAND --help" for a command's flags.`;

export async function runCli(argv: string[], out: Output): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? out.note : out.line)(HELP);
    return name === undefined ? EXIT_USAGE : EXIT_SUCCEEDED;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    out.note(`error: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    out.line(command.help);
    return EXIT_SUCCEEDED;
  }
  try {
    return await command.run(rest, out);
  } catch (error) {
    if (error instanceof CliError) {
      out.note(`error: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof KubeApiError) {
      out.note(`error: ${error.statusMessage || error.message}`);
      return EXIT_FAILED;
    }
    throw error;
  }
}

process.exitCode = await runCli(process.argv.slice(2), processOutput());
