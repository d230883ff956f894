/**
 * The cluster connection from --kubeconfig and --context: client-node's KubeConfig reads the file
 * (it knows contexts, exec plugins and auth providers), and the runtime's KubeClient sends requests.
 */
import type https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../runtime/client.ts";
import { isNotFound } from "../runtime/errors.ts";
import { type ClusterConnection, type Credentials, credentialsOf } from "../runtime/kubeconfig.ts";
import { type GroupVersionResource, resourcePath } from "../runtime/resource.ts";
import { CliError, UsageError } from "./errors.ts";

export const GVR = {
  delegations: { group: "clawcrew.io", version: "v1alpha1", plural: "delegations" },
  agents: { group: "clawcrew.io", version: "v1alpha1", plural: "agents" },
  teams: { group: "clawcrew.io", version: "v1alpha1", plural: "agentteams" },
  configmaps: { group: "", version: "v1", plural: "configmaps" },
} as const satisfies Record<string, GroupVersionResource>;

export interface ConnectionFlags {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

export interface Cluster {
  client: KubeClient;
  namespace: string;
  path(gvr: GroupVersionResource, name?: string): string;
  /** GET of a namespaced object; a 404 becomes `<Kind> "<name>" not found in namespace <ns>`. */
  getNamed<T>(gvr: GroupVersionResource, kind: string, name: string): Promise<T>;
}

export function connect(flags: ConnectionFlags): Cluster {
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault();
  } catch (error) {
    throw new CliError(`kubeconfig: ${(error as Error).message}`);
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      throw new UsageError(`--context: context "${flags.context}" is not in the kubeconfig`);
    }
    kc.setCurrentContext(flags.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new CliError("kubeconfig: the current context has no cluster");
  const namespace = flags.namespace || kc.getContextObject(kc.getCurrentContext())?.namespace || "default";
  const client = new KubeClient(connectionOf(kc, cluster.server), { userAgent: "clawcrew-cli" });
  const path = (gvr: GroupVersionResource, name?: string) =>
    resourcePath(gvr, { namespace, ...(name !== undefined && { name }) });
  return {
    client,
    namespace,
    path,
    async getNamed<T>(gvr: GroupVersionResource, kind: string, name: string): Promise<T> {
      try {
        return await client.get<T>(path(gvr, name));
      } catch (error) {
        if (isNotFound(error)) throw new CliError(`${kind} "${name}" not found in namespace ${namespace}`);
        throw error;
      }
    },
  };
}

function connectionOf(kc: KubeConfig, server: string): ClusterConnection {
  return {
    server: new URL(server),
    source: "kubeconfig",
    async credentials(): Promise<Credentials> {
      const options: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(options);
      return credentialsOf(options);
    },
  };
}
