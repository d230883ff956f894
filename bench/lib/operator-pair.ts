/**
 * Two operator processes with leader election, each behind its own FaultyProxy to the API server, supervised
 * the way a Deployment would: a process that exits (killed, or on its own after losing its Lease) is
 * replaced after `restartDelayMs` by one with a new identity (`<slot>-<n>`), which starts as a standby. For the fault soak (bench/soak.ts).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { FaultyProxy, type OperatorProcess, type OperatorProcessOptions, startOperator } from "../../harness/index.ts";
import { procMemory } from "./proc.ts";
import { scrape, sum } from "./prom.ts";

const alive = (proc: OperatorProcess) => proc.child.exitCode === null && proc.child.signalCode === null;

export interface OperatorExit {
  at: number;
  code: number | null;
  signal: string | null;
  /** The soak SIGKILLed it (else it exited on its own, e.g. after losing its Lease). */
  killedBySoak: boolean;
  /** Its last log line at level error (50) or above, if any. */
  lastError: string | undefined;
}

export interface OperatorSlot {
  identity: string;
  proxy: FaultyProxy;
  kubeconfig: string;
  proc: OperatorProcess | undefined;
  /** performance.now() when the current process logged "controllers started" (it leads). */
  leadingSince: number | undefined;
  starts: number;
  exits: OperatorExit[];
  logFiles: string[];
  peakHwmKiB: number;
  /** Largest nodejs_eventloop_lag_max_seconds / _p99_seconds seen in a scrape, seconds. */
  lagMax: number;
  lagP99: number[];
}

export interface OperatorPairOptions {
  /** The admin kubeconfig: each operator gets a copy whose server is its proxy. */
  kubeconfig: string;
  apiServer: string;
  args: string[];
  process?: OperatorProcessOptions;
  restartDelayMs: number;
  dir: string;
  log: (message: string) => void;
}

export class OperatorPair {
  readonly slots: OperatorSlot[];
  readonly #options: OperatorPairOptions;
  #stopping = false;
  #sampler: NodeJS.Timeout | undefined;
  #scraper: NodeJS.Timeout | undefined;
  readonly #killed = new WeakSet<OperatorProcess>();

  private constructor(slots: OperatorSlot[], options: OperatorPairOptions) {
    this.slots = slots;
    this.#options = options;
  }

  static async start(options: OperatorPairOptions): Promise<OperatorPair> {
    const admin = readFileSync(options.kubeconfig, "utf8");
    const slots: OperatorSlot[] = [];
    for (const name of ["a", "b"]) {
      const proxy = await FaultyProxy.start(options.apiServer);
      const kubeconfig = join(options.dir, `kubeconfig-${name}`);
      writeFileSync(kubeconfig, admin.replaceAll(options.apiServer, proxy.url), { mode: 0o600 });
      slots.push({
        identity: `soak-operator-${name}`,
        proxy,
        kubeconfig,
        proc: undefined,
        leadingSince: undefined,
        starts: 0,
        exits: [],
        logFiles: [],
        peakHwmKiB: 0,
        lagMax: 0,
        lagP99: [],
      });
    }
    const pair = new OperatorPair(slots, options);
    for (const slot of slots) await pair.#spawn(slot);
    pair.#sampler = setInterval(() => pair.#sampleMemory(), 500);
    pair.#scraper = setInterval(() => void pair.#scrapeLag(), 5000);
    return pair;
  }

  /** The slot whose live process leads (logged "controllers started"), the most recent one if two think so. */
  leader(): OperatorSlot | undefined {
    const leading = this.slots.filter((s) => s.proc && s.leadingSince !== undefined && alive(s.proc));
    return leading.sort((a, b) => b.leadingSince! - a.leadingSince!)[0];
  }

  /** Resolves once a process other than `not` leads (or any, without `not`); returns when it started leading. */
  async waitForLeader(not: OperatorProcess | undefined, timeoutMs: number, signal: AbortSignal): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const slot = this.leader();
      if (slot && slot.proc !== not) return slot.leadingSince!;
      if (performance.now() > deadline) throw new Error(`no new leader within ${timeoutMs} ms`);
      await sleep(50, undefined, { signal });
    }
  }

  /** SIGKILLs the slot's process (the supervisor starts it again as a standby). */
  kill(slot: OperatorSlot): OperatorProcess | undefined {
    const proc = slot.proc;
    if (!proc) return undefined;
    this.#killed.add(proc);
    proc.child.kill("SIGKILL");
    return proc;
  }

  restarts(): number {
    return this.slots.reduce((n, s) => n + s.starts - 1, 0);
  }

  async stop(keepLogs: boolean): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#sampler);
    clearInterval(this.#scraper);
    await Promise.all(
      this.slots.map(async (slot) => {
        const proc = slot.proc;
        if (!proc) return;
        const timer = setTimeout(() => proc.child.kill("SIGKILL"), 30_000);
        await proc.stop();
        clearTimeout(timer);
      }),
    );
    for (const slot of this.slots) {
      await slot.proxy.close();
      if (!keepLogs) for (const file of slot.logFiles) rmSync(dirname(file), { recursive: true, force: true });
    }
  }

  async #spawn(slot: OperatorSlot): Promise<void> {
    // A new identity per start, as a replacement pod gets: the Lease the killed process held is not its
    // own, so a standby takes over only once the Lease has expired.
    const identity = `${slot.identity}-${slot.starts + 1}`;
    const proc = await startOperator(slot.kubeconfig, identity, this.#options.args, this.#options.process);
    slot.proc = proc;
    slot.leadingSince = undefined;
    slot.starts++;
    slot.logFiles.push(proc.logFile);
    const onExit = () => proc.child.kill("SIGKILL");
    process.on("exit", onExit);
    // Leading from "controllers started" until it says it lost the Lease or shuts down (it may take a
    // while to exit after that).
    let scanned = 0;
    let done = false;
    const watchLeading = setInterval(() => {
      for (; scanned < proc.logs.length && !done; scanned++) {
        const msg = proc.logs[scanned]?.msg;
        if (msg === "controllers started" && slot.proc === proc) slot.leadingSince = performance.now();
        if (msg === "leader election lost; exiting" || String(msg).startsWith("shutting down")) {
          done = true;
          if (slot.proc === proc) slot.leadingSince = undefined;
        }
      }
    }, 20);
    void proc.exited.then(async () => {
      clearInterval(watchLeading);
      process.off("exit", onExit);
      const lastError = proc.logs.findLast((l) => Number(l.level) >= 50);
      slot.exits.push({
        at: performance.now(),
        code: proc.child.exitCode,
        signal: proc.child.signalCode,
        killedBySoak: this.#killed.has(proc),
        lastError: lastError ? String(lastError.msg) : undefined,
      });
      if (slot.proc === proc) slot.leadingSince = undefined;
      if (this.#stopping) return;
      this.#options.log(
        `operator ${slot.identity} exited (${proc.child.signalCode ?? `code ${proc.child.exitCode}`}); restarting in ${this.#options.restartDelayMs} ms`,
      );
      await sleep(this.#options.restartDelayMs);
      if (!this.#stopping) await this.#spawn(slot);
    });
  }

  #sampleMemory(): void {
    for (const slot of this.slots) {
      const pid = slot.proc?.child.pid;
      if (!pid || !slot.proc || !alive(slot.proc)) continue;
      try {
        slot.peakHwmKiB = Math.max(slot.peakHwmKiB, procMemory(pid).hwmKiB);
      } catch {
        // exited between the check and the read
      }
    }
  }

  async #scrapeLag(): Promise<void> {
    for (const slot of this.slots) {
      const address = slot.proc?.metrics();
      if (!address || !slot.proc || !alive(slot.proc)) continue;
      try {
        const samples = await scrape(address, AbortSignal.timeout(2000));
        slot.lagMax = Math.max(slot.lagMax, sum(samples, "nodejs_eventloop_lag_max_seconds"));
        slot.lagP99.push(sum(samples, "nodejs_eventloop_lag_p99_seconds"));
      } catch {
        // killed mid-scrape
      }
    }
  }
}
