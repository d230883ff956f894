/**
 * One real cluster per test file: started in beforeAll, stopped in afterAll, which then checks that the
 * host is as it was (no lock, bridge, mounts, iptables chains or shims of the node are left).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import type { Obj } from "../../../harness/index.ts";
import { installSignalCleanup, kubectlOk } from "../../../harness/index.ts";
import { LOCK_FILE, type RealCluster, startRealCluster } from "../../../harness/real-node/index.ts";

export interface RealClusterHandle {
  /** The running cluster (set once beforeAll has run). */
  readonly cluster: RealCluster;
  /** `kubectl get ARGS -o json`, parsed. */
  get(args: string[]): Promise<Obj>;
  /** Milliseconds of each start-up step; tests add their own, afterAll prints them. */
  timings: Record<string, number>;
}

/** Registers the hooks; `setup` runs after the cluster started (installs, applies), inside beforeAll. */
export function useRealCluster(name: string, setup: (handle: RealClusterHandle) => Promise<void>): RealClusterHandle {
  let cluster: RealCluster | undefined;
  let removeSignalCleanup: (() => void) | undefined;
  const handle: RealClusterHandle = {
    get cluster() {
      if (!cluster) throw new Error("the real cluster is not running");
      return cluster;
    },
    get: async (args) => JSON.parse(await kubectlOk(handle.cluster.kubeconfigPath, ["get", ...args, "-o", "json"])),
    timings: {},
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("the real node needs root");
    removeSignalCleanup = installSignalCleanup();
    cluster = await startRealCluster({ log: (m) => process.stderr.write(`[real-node] ${m}\n`) });
    Object.assign(handle.timings, cluster.timings);
    await setup(handle);
  }, 3_600_000);

  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      removeSignalCleanup?.();
      console.log(`[${name}] ${JSON.stringify(handle.timings)}`);
    }
    if (!cluster) return;
    expect(existsSync(LOCK_FILE)).toBe(false);
    expect(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).not.toContain("clawcrew-cni0");
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain("clawcrew-node-");
    expect(execFileSync("iptables-save", { encoding: "utf8" })).not.toMatch(/^:(KUBE|CNI)-/m);
    expect(execFileSync("ipset", ["list", "-n"], { encoding: "utf8" })).not.toMatch(/KUBE-/);
    expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain("containerd-shim");
  }, 300_000);

  return handle;
}
