/**
 * Requests made from inside a pod's container with `kubectl exec … node -e`, to test what the
 * NetworkPolicy engine lets through. Every image of the real node has node, and none has curl.
 */
import { kubectl } from "../../../harness/index.ts";

export interface Reach {
  /** An HTTP answer came back, of any status. */
  reached: boolean;
  /** "status 200", or the error's code (ECONNREFUSED, TimeoutError, ENOTFOUND, …). */
  detail: string;
}

// An answer of any status means the network let the request through; a refused or dropped
// connection means it did not. 5 s covers a slow answer on this 2-core machine.
const FETCH = `fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then(
  (r) => console.log("status " + r.status),
  (e) => console.log("error " + (e.cause?.code ?? e.name)));`;

const LOOKUP = `require("node:dns").promises.lookup(process.argv[1]).then(
  (a) => console.log("address " + a.address),
  (e) => console.log("error " + e.code));`;

export interface PodRef {
  namespace: string;
  pod: string;
  container: string;
}

async function run(kubeconfig: string, from: PodRef, script: string, arg: string): Promise<string> {
  const args = ["-n", from.namespace, "exec", from.pod, "-c", from.container, "--", "node", "-e", script, arg];
  const result = await kubectl(kubeconfig, args);
  if (result.code !== 0) throw new Error(`kubectl exec in ${from.namespace}/${from.pod} failed: ${result.stderr}`);
  return result.stdout.trim();
}

export async function reach(kubeconfig: string, from: PodRef, url: string): Promise<Reach> {
  const detail = await run(kubeconfig, from, FETCH, url);
  return { reached: detail.startsWith("status "), detail };
}

/** The address a pod's resolver gives for `name`, or the error code. */
export function resolve(kubeconfig: string, from: PodRef, name: string): Promise<string> {
  return run(kubeconfig, from, LOOKUP, name);
}
