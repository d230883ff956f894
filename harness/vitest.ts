/** Shared set-up of the runtime integration tests: clients, namespaces, the etcd URL, a test logger. */
import { readdirSync, readFileSync } from "node:fs";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { type Logger, pino } from "pino";
import { inject } from "vitest";
import { KubeClient } from "../src/runtime/client.ts";
import { type ClusterConnection, loadClusterConnection } from "../src/runtime/kubeconfig.ts";
import { resourcePath } from "../src/runtime/resource.ts";
import { EtcdError } from "./errors.ts";
import { createNamespace, loadKubeConfig } from "./kube.ts";

declare module "vitest" {
  export interface ProvidedContext {
    etcdUrl: string;
  }
}

/** Silent unless TEST_LOG_LEVEL is set (e.g. TEST_LOG_LEVEL=debug to see the runtime's logs). */
export const testLogger: Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

export function adminKubeConfig(): KubeConfig {
  return loadKubeConfig(inject("kubeconfig"));
}

/** The same cluster and credentials, reached through another server URL (e.g. a FaultyProxy). */
export function connectionVia(base: ClusterConnection, server: string): ClusterConnection {
  return { ...base, server: new URL(server) };
}

/** Tracks what a test created so afterAll can remove it. */
export class TestResources {
  readonly kc = adminKubeConfig();
  readonly core = this.kc.makeApiClient(CoreV1Api);
  readonly connection = loadClusterConnection({ kubeconfig: inject("kubeconfig") });
  readonly client = new KubeClient(this.connection);
  readonly #cleanups: (() => Promise<unknown> | unknown)[] = [];

  async namespace(prefix: string): Promise<string> {
    const name = await createNamespace(this.core, prefix);
    this.defer(() => this.core.deleteNamespace({ name }));
    return name;
  }

  /** JSON merge patch of a core/v1 object, e.g. mergePatch("configmaps", ns, "a", { data: { v: "2" } }). */
  mergePatch(plural: string, namespace: string, name: string, body: unknown): Promise<unknown> {
    return this.client.request("PATCH", resourcePath({ group: "", version: "v1", plural }, { namespace, name }), {
      body,
      contentType: "application/merge-patch+json",
    });
  }

  /** Runs `cleanup` in afterAll (last registered first). */
  defer(cleanup: () => Promise<unknown> | unknown): void {
    this.#cleanups.push(cleanup);
  }

  async cleanup(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort: the namespace deletion removes what is left
      }
    }
    this.client.close();
  }
}

/**
 * etcd's client URL: inject("etcdUrl") when the global setup provides it, else CLAWCREW_TEST_ETCD_URL,
 * else the --etcd-servers flag of the local kube-apiserver process serving the kubeconfig's port.
 */
export function etcdUrl(kc: KubeConfig): string {
  const provided = inject("etcdUrl") as string | undefined;
  if (provided) return provided;
  if (process.env.CLAWCREW_TEST_ETCD_URL) return process.env.CLAWCREW_TEST_ETCD_URL;
  const port = new URL(kc.getCurrentCluster()?.server ?? "https://127.0.0.1").port;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (!args[0]?.includes("kube-apiserver") || !args.includes(`--secure-port=${port}`)) continue;
    const flag = args.find((a) => a.startsWith("--etcd-servers="));
    if (flag) return flag.slice("--etcd-servers=".length).split(",")[0]!;
  }
  throw new EtcdError("no etcd URL: provide inject('etcdUrl') from the global setup or set CLAWCREW_TEST_ETCD_URL");
}

/** Compacts etcd up to its current revision; watches from older resourceVersions then get 410 Gone. */
export async function compactEtcd(url: string): Promise<number> {
  const range = await fetch(`${url}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "AA==" }) });
  const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
  const res = await fetch(`${url}/v3/kv/compaction`, {
    method: "POST",
    body: JSON.stringify({ revision: String(revision), physical: true }),
  });
  if (!res.ok) throw new EtcdError(`etcd compaction failed: ${res.status} ${await res.text()}`);
  return revision;
}
