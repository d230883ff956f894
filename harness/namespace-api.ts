/** Reads of one namespace through KubeClient, for the tests that run the operator against a pod network. */
import type { DELEGATION_TOKEN_KEY, TOKEN_KEY } from "../src/agent/desired.ts";
import type { Delegation } from "../src/api/delegation.ts";
import type { KubeClient } from "../src/runtime/client.ts";
import { type GroupVersionResource, resourcePath } from "../src/runtime/resource.ts";
import type { Obj } from "./kube.ts";

export const GVR = {
  delegations: { group: "clawcrew.io", version: "v1alpha1", plural: "delegations" },
  agents: { group: "clawcrew.io", version: "v1alpha1", plural: "agents" },
  teams: { group: "clawcrew.io", version: "v1alpha1", plural: "agentteams" },
  pods: { group: "", version: "v1", plural: "pods" },
  secrets: { group: "", version: "v1", plural: "secrets" },
} satisfies Record<string, GroupVersionResource>;

export const isReady = (pod: Obj): boolean =>
  (pod.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");

export function namespaceApi(client: () => KubeClient, namespace: string) {
  const api = (gvr: GroupVersionResource, name?: string) => resourcePath(gvr, { namespace, ...(name && { name }) });
  return {
    api,
    listDelegations: async (labelSelector?: string) =>
      (
        await client().get<{ items: Delegation[] }>(api(GVR.delegations), {
          ...(labelSelector && { query: { labelSelector } }),
        })
      ).items,
    /** The Agent's pods that are not being deleted. */
    agentPods: async (agent: string) =>
      (
        await client().get<{ items: Obj[] }>(api(GVR.pods), {
          query: { labelSelector: `clawcrew.io/agent=${agent}` },
        })
      ).items.filter((p) => !p.metadata.deletionTimestamp),
    /**
     * One token of each Agent, from its `<agent>-token` Secret: TOKEN_KEY, the gateway token (to call its
     * gateway, as the operator does), or DELEGATION_TOKEN_KEY (to call the delegation endpoint as the agent).
     */
    agentTokens: async (agents: string[], key: typeof TOKEN_KEY | typeof DELEGATION_TOKEN_KEY) => {
      const tokens: Record<string, string> = {};
      for (const name of agents) {
        const secret = await client().get<Obj>(api(GVR.secrets, `${name}-token`));
        tokens[name] = Buffer.from(secret.data[key], "base64").toString("utf8");
      }
      return tokens;
    },
  };
}
