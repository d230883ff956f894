/**
 * vitest globalSetup of the `integration` project: starts ONE local control plane
 * (harness/control-plane) for the whole run and provides its admin kubeconfig path to the
 * tests as `inject("kubeconfig")`.
 *
 * CLAWCREW_TEST_KUBECONFIG=<path> reuses an already running cluster (for example one started with
 * `node hack/local-cluster.ts --kubeconfig /tmp/clawcrew.kubeconfig`): nothing is started or stopped.
 * CLAWCREW_TEST_ETCD_URL then names that cluster's etcd (printed by the CLI).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { installSignalCleanup, startControlPlane } from "../../harness/index.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    /** etcd's client URL, for tests that compact history to provoke 410 Gone. */
    etcdUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reuse = process.env.CLAWCREW_TEST_KUBECONFIG;
  if (reuse) {
    const path = resolve(reuse);
    if (!existsSync(path)) throw new Error(`CLAWCREW_TEST_KUBECONFIG=${reuse}: no such file`);
    project.provide("kubeconfig", path);
    project.provide("etcdUrl", process.env.CLAWCREW_TEST_ETCD_URL ?? "");
    return undefined;
  }

  // If the run is interrupted, vitest may exit without awaiting the teardown below: make sure no
  // etcd/kube-*/kwok process and no data dir outlives it.
  const removeSignalCleanup = installSignalCleanup();
  const controlPlane = await startControlPlane().catch((error: unknown) => {
    removeSignalCleanup();
    throw error;
  });
  project.provide("kubeconfig", controlPlane.kubeconfigPath);
  project.provide("etcdUrl", controlPlane.etcdEndpoint);

  return async () => {
    try {
      await controlPlane.stop();
    } finally {
      removeSignalCleanup();
    }
  };
}
