/**
 * One pod's network sandbox, like a CNI bridge plugin would make it: a network namespace `ccp-<id>`, a veth
 * pair whose host end `ccv<id>` is a port of the bridge and whose other end is the pod's `eth0` with the pod
 * IP/16, and a default route via the bridge address.
 */
import { createHash } from "node:crypto";
import { ip } from "../command.ts";
import { SandboxError } from "../errors.ts";
import {
  BRIDGE_ADDRESS,
  BRIDGE_NAME,
  ipInCidr,
  NETNS_PREFIX,
  netnsPidsSync,
  POD_NETWORK,
  POD_PREFIX_LENGTH,
  RESERVED_RANGE,
  VETH_PREFIX,
} from "./network.ts";

export interface Sandbox {
  netns: string;
  /** Host end of the veth pair. */
  veth: string;
  podIP: string;
  /** SIGKILLs every process left in the namespace, deletes the veth pair and the namespace. Idempotent. */
  destroy(): Promise<void>;
}

/** 12 hex digits of the pod uid's hash: `ccv` + 12 fits the 15-character interface name limit. */
export function sandboxId(podUid: string): string {
  return createHash("sha256").update(podUid).digest("hex").slice(0, 12);
}

export function sandboxNames(podUid: string): { netns: string; veth: string } {
  const id = sandboxId(podUid);
  return { netns: `${NETNS_PREFIX}${id}`, veth: `${VETH_PREFIX}${id}` };
}

export async function createSandbox(podUid: string, podIP: string): Promise<Sandbox> {
  if (!ipInCidr(podIP, POD_NETWORK) || ipInCidr(podIP, RESERVED_RANGE)) {
    throw new SandboxError(`pod IP ${podIP} is outside ${POD_NETWORK} or inside the reserved ${RESERVED_RANGE}`);
  }
  const { netns, veth } = sandboxNames(podUid);
  let destroyed: Promise<void> | undefined;
  const destroy = () => {
    destroyed ??= (async () => {
      for (const pid of netnsPidsSync(netns)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      // Deleting one end removes the pair at once; the namespace's own teardown is asynchronous.
      await ip("link", "delete", veth).catch(() => {});
      await ip("netns", "delete", netns).catch(() => {});
    })();
    return destroyed;
  };
  try {
    await ip("netns", "add", netns);
    await ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns);
    await ip("link", "set", veth, "master", BRIDGE_NAME, "up");
    await ip("-n", netns, "addr", "add", `${podIP}/${POD_PREFIX_LENGTH}`, "dev", "eth0");
    await ip("-n", netns, "link", "set", "lo", "up");
    await ip("-n", netns, "link", "set", "eth0", "up");
    await ip("-n", netns, "route", "add", "default", "via", BRIDGE_ADDRESS);
  } catch (error) {
    await destroy();
    throw new SandboxError(`could not create the sandbox of pod ${podUid} (${podIP}): ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { netns, veth, podIP, destroy };
}
