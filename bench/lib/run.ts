/**
 * The run harness every benchmark shares: parse options, stop on a signal (exit at once on a second
 * one), bound the run, print the report, run the clean-ups in reverse order, and exit with a code.
 */
import { tailFile } from "../../harness/index.ts";

export interface BenchRun<O> {
  usage: string;
  parseOptions: () => O;
  main: (options: O, signal: AbortSignal, cleanups: (() => Promise<void>)[]) => Promise<string>;
  /** The whole run's limit. */
  runLimitMs: number;
  log: (message: string) => void;
  /** Shown (its tail) when the run fails. */
  operatorLogFile: () => string | undefined;
}

export async function runBench<O>(bench: BenchRun<O>): Promise<number> {
  const { log } = bench;
  let options: O;
  try {
    options = bench.parseOptions();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${bench.usage}\n`);
    return 2;
  }
  const interrupt = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log(`${sig} again: exiting now`);
      process.exit(130); // exit hooks kill the operator, the control plane and the pod network's leftovers
    }
    log(`${sig}: stopping (again to exit at once)`);
    interrupt.abort(new Error(`interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  const signal = AbortSignal.any([interrupt.signal, AbortSignal.timeout(bench.runLimitMs)]);

  const cleanups: (() => Promise<void>)[] = [];
  let code = 0;
  try {
    process.stdout.write(await bench.main(options, signal, cleanups));
  } catch (error) {
    if (interrupt.signal.aborted) {
      code = 130;
      log(`${String(interrupt.signal.reason)}; cleaning up`);
    } else {
      code = 1;
      log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      const logFile = bench.operatorLogFile();
      if (logFile) log(`end of the operator's log (${logFile}):\n${tailFile(logFile, 30)}`);
    }
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    }
  }
  return code;
}
