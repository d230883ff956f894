/** What each command module exports: its name, its help text, and how it runs. */
import type { Output } from "./output.ts";

export interface Command {
  name: string;
  summary: string;
  /** The whole `--help` text. */
  help: string;
  /** Resolves the exit code; throws CliError (or UsageError) for anything it cannot do. */
  run(argv: string[], out: Output): Promise<number>;
}
