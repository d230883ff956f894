/**
 * The extra event sources of the Agent controller for teams:
 *
 * - an AgentTeam change re-renders every agent it names, on both sides of an update, so an agent
 *   removed from a team loses its team view;
 * - an Agent's roster fields (description, capabilities) or its existence re-render the delegators
 *   whose roster lists it. Status updates (readiness) do not: the roster is static.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { addTeamIndexes } from "../api/indexes.ts";
import type { Request, WatchedSource } from "../runtime/controller.ts";
import type { Informer } from "../runtime/informer.ts";
import { type IndexedCache, objectKey } from "../runtime/store.ts";
import { delegatorsOf, teamAgentRequests } from "../team/lookup.ts";

/** AgentTeam → requests for the agents it names. */
export function agentsOfTeam(team: KubernetesObject): Request[] {
  return teamAgentRequests(team);
}

function rosterFingerprint(agent: KubernetesObject): string {
  const spec = (agent as { spec?: { description?: unknown; capabilities?: unknown } }).spec;
  return JSON.stringify([agent.metadata?.uid, spec?.description, spec?.capabilities]);
}

/**
 * Agent → requests for the delegators that list it. It remembers each agent's roster fields and maps
 * an event to nothing when they did not change: the controller calls a map for both sides of an
 * update, and for every status write of every agent. Needs BY_AGENT on `teams`.
 */
export function delegatorsOfAgent(
  teams: IndexedCache<KubernetesObject>,
  agents: IndexedCache<KubernetesObject>,
): (agent: KubernetesObject) => Request[] {
  const seen = new Map<string, string>();
  return (agent) => {
    const key = objectKey(agent);
    const current = agents.get(key);
    if (current === undefined) {
      // Deleted: its delegators now show it as missing.
      seen.delete(key);
    } else {
      const fingerprint = rosterFingerprint(current);
      if (seen.get(key) === fingerprint) return [];
      seen.set(key, fingerprint);
    }
    const namespace = agent.metadata?.namespace ?? "";
    return delegatorsOf(teams, namespace, agent.metadata?.name ?? "").map((name) => ({ namespace, name }));
  };
}

/** Both sources, for `watches` of the Agent controller. */
export function teamWatches(
  teams: Informer<KubernetesObject>,
  agents: Informer<KubernetesObject>,
): WatchedSource<KubernetesObject>[] {
  addTeamIndexes(teams);
  return [
    { informer: teams, map: agentsOfTeam },
    { informer: agents, map: delegatorsOfAgent(teams, agents) },
  ];
}
