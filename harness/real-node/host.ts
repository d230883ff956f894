/**
 * What the real node changes on the host, and how to take it back: the bridge, sysctls, the
 * iptables chains of the kubelet, kube-proxy, CNI and kube-router, containerd's shims and mounts,
 * and the network namespaces of pods. sweepHost() removes all of it, also what a crashed run left.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { ip, runSync } from "../command.ts";
import { BRIDGE_NAME, NODE_IP, NODE_POD_CIDR } from "./config.ts";

/** Directories of real-node runs start with this, so the sweep finds their mounts and shims. */
export const NODE_DIR_PREFIX = "clawcrew-node-";

const prefixLength = Number(NODE_POD_CIDR.split("/")[1]);

/** The bridge with the node's address, up before the API server binds to that address. */
export async function createBridge(): Promise<void> {
  if (!existsSync(`/sys/class/net/${BRIDGE_NAME}`)) await ip("link", "add", BRIDGE_NAME, "type", "bridge");
  const addresses = await ip("-4", "-o", "addr", "show", "dev", BRIDGE_NAME);
  if (!addresses.includes(`${NODE_IP}/`)) await ip("addr", "add", `${NODE_IP}/${prefixLength}`, "dev", BRIDGE_NAME);
  await ip("link", "set", BRIDGE_NAME, "up");
}

/** Pod traffic crosses the host (Services, policies): forwarding on, and bridged frames seen by iptables. */
export function enableForwarding(): void {
  for (const [path, value] of [
    ["/proc/sys/net/ipv4/ip_forward", "1"],
    ["/proc/sys/net/bridge/bridge-nf-call-iptables", "1"],
    ["/proc/sys/net/bridge/bridge-nf-call-ip6tables", "1"],
  ] as const) {
    if (existsSync(path) && readFileSync(path, "utf8").trim() !== value) writeFileSync(path, value);
  }
}

/** Chains the node's parts create, by prefix; rules in built-in chains that jump to them go first. */
const CHAIN_PREFIXES = ["KUBE-", "CNI-", "KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-", "KUBE-SRC-", "KUBE-DST-"];
const TABLES = ["filter", "nat", "mangle", "raw"];

function ourChain(name: string): boolean {
  return CHAIN_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Removes every rule and chain the node's parts added, in one table of one family. Synchronous. */
function sweepIptablesTable(binary: string, table: string): void {
  const rules = runSync(binary, ["-t", table, "-S"]);
  if (rules === undefined) return;
  const lines = rules.split("\n");
  // Rules of built-in chains that jump into our chains, or that CNI's portmap/masquerade added.
  for (const line of lines) {
    const match = /^-A (\S+) (.*)$/.exec(line);
    if (!match || ourChain(match[1]!)) continue;
    const jump = /-j (\S+)/.exec(match[2]!)?.[1];
    const comment = match[2]!.includes("kubernetes") || match[2]!.includes("kube-router") || match[2]!.includes("CNI");
    if ((jump && ourChain(jump)) || comment) runSync(binary, ["-t", table, "-D", match[1]!, ...splitRule(match[2]!)]);
  }
  const chains = lines.map((l) => /^-N (\S+)$/.exec(l)?.[1]).filter((c): c is string => c !== undefined && ourChain(c));
  for (const chain of chains) runSync(binary, ["-t", table, "-F", chain]);
  for (const chain of chains) runSync(binary, ["-t", table, "-X", chain]);
}

/** Splits an iptables-save rule into arguments, keeping quoted comments whole. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

function sweepIptables(): void {
  for (const binary of ["iptables", "ip6tables"]) for (const table of TABLES) sweepIptablesTable(binary, table);
  // kube-router's sets; ipset may be missing when kube-router never ran.
  const sets = runSync("ipset", ["list", "-n"]);
  for (const set of sets?.split("\n") ?? []) {
    if (/^(KUBE-|kube-router-|inet6:KUBE-)/.test(set)) runSync("ipset", ["destroy", set]);
  }
}

/** Processes whose command line mentions a real-node directory (containerd shims and their containers). */
function nodeProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(NODE_DIR_PREFIX) && cmdline.includes("containerd-shim")) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Kills the shims' whole process groups: a shim runs its containers in its own group. */
function killShims(): void {
  for (const pid of nodeProcesses()) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

/** Unmounts everything under real-node directories, deepest first (rootfs, volumes, the kubelet's bind mount). */
function unmountNodeDirs(): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((target): target is string => target?.includes(NODE_DIR_PREFIX) ?? false)
    .map((target) => target.replaceAll("\\040", " "));
  for (const target of mounts.sort((a, b) => b.length - a.length)) runSync("umount", ["-l", target]);
}

/** Network namespaces containerd made for pods (cni-<uuid>); deleting one removes its veth. */
function deletePodNetns(): void {
  const dir = "/var/run/netns";
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (name.startsWith("cni-")) runSync("ip", ["netns", "delete", name]);
}

/**
 * Removes what a real node leaves on the host. Synchronous, so that exit hooks can call it; safe to
 * run when nothing is left. Never touches chains, namespaces or processes that are not the node's.
 */
export function sweepHost(): void {
  killShims();
  unmountNodeDirs();
  deletePodNetns();
  sweepIptables();
  runSync("ip", ["link", "delete", BRIDGE_NAME]);
}
