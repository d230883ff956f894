/** Runs the real operator for a benchmark: stops it on clean-up, kills it on exit, fails the run if it dies. */
import { rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type OperatorProcess, type OperatorProcessOptions, startOperator } from "../../harness/index.ts";

export interface BenchOperatorOptions {
  args: string[];
  /** Entry point and node flags; default src/main.ts without flags. */
  process?: OperatorProcessOptions;
  keepLogs: boolean;
  /** How long it may take to start its controllers. */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL on clean-up. */
  stopGraceMs: number;
  /** Clean-ups run in reverse order at the end of the run; the operator's stop is pushed here. */
  cleanups: (() => Promise<void>)[];
  log: (message: string) => void;
  signal: AbortSignal;
}

export interface BenchOperator {
  operator: OperatorProcess;
  /** The run's signal, aborted also when the operator exits on its own. */
  runSignal: AbortSignal;
  /** From spawn to "controllers started". */
  startMs: number;
}

export async function startBenchOperator(kubeconfig: string, o: BenchOperatorOptions): Promise<BenchOperator> {
  const spawnedAt = performance.now();
  const operator = await startOperator(kubeconfig, "bench-operator", o.args, o.process);
  let stopping = false;
  const kill = () => {
    if (operator.child.exitCode === null && operator.child.signalCode === null) operator.child.kill("SIGKILL");
  };
  const onExit = () => {
    kill();
    if (!o.keepLogs) rmSync(dirname(operator.logFile), { recursive: true, force: true });
  };
  process.on("exit", onExit);
  const failed = new AbortController();
  void operator.exited.then((code) => {
    if (!stopping) failed.abort(new Error(`the operator exited (code ${code}); log: ${operator.logFile}`));
  });
  o.cleanups.push(async () => {
    stopping = true;
    o.log("stopping the operator");
    const timer = setTimeout(kill, o.stopGraceMs);
    await operator.stop();
    clearTimeout(timer);
    process.off("exit", onExit);
    if (o.keepLogs) o.log(`operator log: ${operator.logFile}`);
    else await rm(dirname(operator.logFile), { recursive: true, force: true });
  });
  const runSignal = AbortSignal.any([o.signal, failed.signal]);
  const deadline = performance.now() + o.timeoutMs;
  while (!operator.logs.some((l) => l.msg === "controllers started")) {
    if (performance.now() > deadline) throw new Error("the operator did not start its controllers in time");
    await sleep(10, undefined, { signal: runSignal });
  }
  return { operator, runSignal, startMs: performance.now() - spawnedAt };
}
