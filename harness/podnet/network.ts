/**
 * The host side of the test pod network: one Linux bridge, BRIDGE_NAME, holding BRIDGE_ADDRESS/16 inside
 * the kwok pod range 10.250.0.0/16. Every pod sandbox (sandbox.ts) plugs a veth into it, so host and pods
 * share one L2 segment: no forwarding, no NAT. Forwarding is off on the bridge (net.ipv4.conf.clawcrew0.forwarding=0),
 * so pods reach the host's own addresses and nothing beyond; packets to anything else are dropped (they time out).
 *
 * A lock file holding "<pid> <start time>" guards the names: one pod network per host. A lock left by a
 * dead process means a killed run; its leftovers (every netns and link with this module's prefixes) are
 * removed, and the new run goes on.
 */
import { writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ip, runSync } from "../command.ts";
import { releaseLock, takeLock } from "../control-plane/host-lock.ts";
import { registerExitCleanup } from "../control-plane/process.ts";
import { AddressConflictError, PodNetBusyError, PodNetError } from "../errors.ts";

export const BRIDGE_NAME = "clawcrew0";
/** The host's address on the bridge: pods route through it and reach host servers bound to it. */
export const BRIDGE_ADDRESS = "10.250.255.254";
export const POD_NETWORK = "10.250.0.0/16";
export const POD_PREFIX_LENGTH = 16;
/** 10.250.255.0/24 holds the bridge address: no kwok node may use it (nodes ≤ 255). */
export const RESERVED_RANGE = "10.250.255.0/24";
/** Names of every network namespace (`ccp-<12 hex>`) and host-side veth (`ccv<12 hex>`) this harness creates. */
export const NETNS_PREFIX = "ccp-";
export const VETH_PREFIX = "ccv";
export const LOCK_FILE = "/run/clawcrew-podnet.lock";

export interface PodNetworkOptions {
  /** Default LOCK_FILE. */
  lockFile?: string;
  /** The number of kwok nodes the cluster has; more than 255 would overlap RESERVED_RANGE. */
  nodes?: number;
  log?: (message: string) => void;
}

export interface PodNetwork {
  bridge: string;
  /** BRIDGE_ADDRESS */
  address: string;
  cidr: string;
  /** Removes every sandbox left (netns, veth, processes in them), the bridge and the lock. Idempotent. */
  destroy(): Promise<void>;
}

export function ipv4ToInt(address: string): number {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new PodNetError(`not an IPv4 address: ${address}`);
  }
  return parts.reduce((acc, octet) => acc * 256 + octet, 0);
}

function cidrRange(cidr: string): [number, number] {
  const [base = "", bitsText = "32"] = cidr.split("/");
  const bits = Number(bitsText);
  const size = 2 ** (32 - bits);
  const start = Math.floor(ipv4ToInt(base) / size) * size;
  return [start, start + size - 1];
}

export function cidrsOverlap(a: string, b: string): boolean {
  const [a0, a1] = cidrRange(a);
  const [b0, b1] = cidrRange(b);
  return a0 <= b1 && b0 <= a1;
}

export function ipInCidr(address: string, cidr: string): boolean {
  const [start, end] = cidrRange(cidr);
  const value = ipv4ToInt(address);
  return value >= start && value <= end;
}

/** Our network namespaces on this host. */
export function listSandboxNetns(): string[] {
  const out = runSync("ip", ["-o", "netns", "list"]) ?? "";
  return out
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(NETNS_PREFIX));
}

/** Our links on the host: the bridge and host-side veths. */
export function listPodNetLinks(): string[] {
  const out = runSync("ip", ["-o", "link", "show"]) ?? "";
  return out
    .split("\n")
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? "")
    .filter((name) => name === BRIDGE_NAME || name.startsWith(VETH_PREFIX));
}

/** Pids of the processes inside a network namespace (`ip netns pids`). */
export function netnsPidsSync(netns: string): number[] {
  return (runSync("ip", ["netns", "pids", netns]) ?? "").split(/\s+/).filter(Boolean).map(Number);
}

/**
 * Removes, synchronously, everything this harness may have created on the host: processes in `ccp-*`
 * namespaces (SIGKILL), the namespaces, `ccv*` veths and the bridge. Touches no other name.
 */
export function cleanupLeftoversSync(): void {
  for (const netns of listSandboxNetns()) {
    for (const pid of netnsPidsSync(netns)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    runSync("ip", ["netns", "delete", netns]);
  }
  for (const link of listPodNetLinks()) runSync("ip", ["link", "delete", link]);
}

/** Refuses when the host has an address or route overlapping POD_NETWORK (that is not ours). */
async function assertNoOverlap(): Promise<void> {
  const addresses = await ip("-4", "-o", "addr", "show");
  for (const line of addresses.split("\n")) {
    const match = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(line);
    if (match && cidrsOverlap(match[2]!, POD_NETWORK)) {
      throw new AddressConflictError(`the host already has ${match[2]} on ${match[1]}, inside ${POD_NETWORK}`);
    }
  }
  const routes = await ip("-4", "route", "show", "table", "all");
  for (const line of routes.split("\n")) {
    const prefix = line.split(" ")[0] ?? "";
    if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(prefix)) continue; // default, broadcast, local, …
    if (cidrsOverlap(prefix.includes("/") ? prefix : `${prefix}/32`, POD_NETWORK)) {
      throw new AddressConflictError(`the host already routes ${line.trim()}, overlapping ${POD_NETWORK}`);
    }
  }
}

/** Creates the bridge (see the module doc). Needs root and iproute2. */
export async function createPodNetwork(options: PodNetworkOptions = {}): Promise<PodNetwork> {
  const lockFile = options.lockFile ?? LOCK_FILE;
  const log = options.log ?? ((message: string) => process.stderr.write(`[podnet] ${message}\n`));
  if (process.getuid?.() !== 0) throw new PodNetError("the pod network needs root (network namespaces, a bridge)");
  if (options.nodes !== undefined && options.nodes > 255) {
    throw new PodNetError(`at most 255 kwok nodes: ${RESERVED_RANGE} is reserved for the bridge`);
  }
  takeLock(lockFile, {
    busy: (pid) => new PodNetBusyError(lockFile, pid),
    removeLeftovers: (pid) => {
      log(`stale pod network lock of dead pid ${pid || "?"}: removing its leftovers`);
      cleanupLeftoversSync();
    },
    failed: () => new PodNetError(`could not take the pod network lock ${lockFile}`),
  });
  // From here on a crash must not leave the bridge: the exit hook removes our names and the lock.
  const unregister = registerExitCleanup(() => {
    cleanupLeftoversSync();
    releaseLock(lockFile);
  });
  try {
    // The lock is ours, so any name with our prefixes is a leftover of a run that died before its lock was taken over.
    cleanupLeftoversSync();
    await assertNoOverlap();
    await ip("link", "add", BRIDGE_NAME, "type", "bridge");
    await ip("addr", "add", `${BRIDGE_ADDRESS}/${POD_PREFIX_LENGTH}`, "dev", BRIDGE_NAME);
    // Never route pod traffic onwards, whatever the host's global ip_forward says; no IPv6 on the segment.
    writeFileSync(`/proc/sys/net/ipv4/conf/${BRIDGE_NAME}/forwarding`, "0");
    writeFileSync(`/proc/sys/net/ipv6/conf/${BRIDGE_NAME}/disable_ipv6`, "1");
    await ip("link", "set", BRIDGE_NAME, "up");
  } catch (error) {
    cleanupLeftoversSync();
    releaseLock(lockFile);
    unregister();
    throw error;
  }
  log(`bridge ${BRIDGE_NAME} ${BRIDGE_ADDRESS}/${POD_PREFIX_LENGTH} is up`);
  let destroying: Promise<void> | undefined;
  return {
    bridge: BRIDGE_NAME,
    address: BRIDGE_ADDRESS,
    cidr: POD_NETWORK,
    destroy() {
      destroying ??= Promise.resolve().then(() => {
        cleanupLeftoversSync();
        releaseLock(lockFile);
        unregister();
      });
      return destroying;
    },
  };
}

export interface AcquireOptions extends PodNetworkOptions {
  /** How long to wait while another run holds the machine's pod network. */
  waitMs: number;
  /** Between attempts. Default 5 s. */
  pollMs?: number;
  signal?: AbortSignal;
}

/** createPodNetwork, waiting while another run (a test file, a benchmark) holds the lock. */
export async function acquirePodNetwork(options: AcquireOptions): Promise<PodNetwork> {
  const deadline = performance.now() + options.waitMs;
  const pollMs = options.pollMs ?? 5_000;
  for (;;) {
    try {
      return await createPodNetwork(options);
    } catch (error) {
      if (!(error instanceof PodNetBusyError) || performance.now() > deadline) throw error;
      options.log?.(`${error.message}; retrying in ${pollMs / 1000} s`);
      await sleep(pollMs, undefined, { signal: options.signal });
    }
  }
}
