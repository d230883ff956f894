/** Errors of the real node: the local cluster's error hierarchy (hack/cluster/errors.ts) under RealNodeError. */
import { LocalClusterError } from "../errors.ts";

/** Anything that went wrong with the real node: its host set-up, images or components. */
export class RealNodeError extends LocalClusterError {}

/** Another live process runs a real node on this host (it holds the lock). */
export class RealNodeBusyError extends RealNodeError {
  readonly holderPid: number;
  constructor(lockFile: string, holderPid: number) {
    super(`a real node is running already, in pid ${holderPid} (lock ${lockFile})`);
    this.holderPid = holderPid;
  }
}

/** The host lacks something the node needs (root, containerd, runc, the CNI plugins, iptables). */
export class HostRequirementError extends RealNodeError {}
