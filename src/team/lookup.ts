/**
 * Reads of the AgentTeam and Agent caches: parsed objects (remembered per cached object, which an
 * informer replaces on every change), the teams of a namespace (the namespace index) and the teams
 * that name an agent (BY_AGENT, which addTeamIndexes adds).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Agent } from "../api/agent.ts";
import { agentsNamedByTeam, BY_AGENT } from "../api/indexes.ts";
import { AGENT_KIND, AGENT_TEAM_KIND } from "../api/registry.ts";
import type { AgentTeam } from "../api/team.ts";
import type { Request } from "../runtime/controller.ts";
import type { Logger } from "../runtime/log.ts";
import { type IndexedCache, keyOf, NAMESPACE_INDEX, objectFields } from "../runtime/store.ts";
import { isDelegator, targetsFor, teamAgents } from "./topology.ts";
import { type LeadView, leadViewOf } from "./view.ts";

type Cache = IndexedCache<KubernetesObject>;

/** The AgentTeam, or undefined when it does not match the schema (a CRD older than the operator). */
export function parseTeam(obj: KubernetesObject, logger?: Logger): AgentTeam | undefined {
  return AGENT_TEAM_KIND.parseCached(obj, (error) =>
    logger?.warn({ ...objectFields(obj), problem: error.details }, "AgentTeam does not match the schema; ignored"),
  );
}

export function parseAgent(obj: KubernetesObject | undefined): Agent | undefined {
  return obj && AGENT_KIND.parseCached(obj);
}

/** The valid, not deleted AgentTeams among `objects`, sorted by name. */
function validTeams(objects: readonly KubernetesObject[], logger?: Logger): AgentTeam[] {
  const out: AgentTeam[] = [];
  for (const obj of objects) {
    if (obj.metadata?.deletionTimestamp) continue;
    const team = parseTeam(obj, logger);
    if (team) out.push(team);
  }
  return out.sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
}

/** The valid AgentTeams of a namespace, sorted by name. */
export function teamsInNamespace(teams: Cache, ns: string, logger?: Logger): AgentTeam[] {
  return validTeams(teams.byIndex(NAMESPACE_INDEX, ns), logger);
}

/** The valid teams of the namespace that name `agent`, sorted by name. Needs BY_AGENT on `teams`. */
export function teamsReferencing(teams: Cache, ns: string, agent: string, logger?: Logger): AgentTeam[] {
  return validTeams(teams.byIndex(BY_AGENT, keyOf({ namespace: ns, name: agent })), logger);
}

/** The team view of `agent`, or undefined when it delegates in no team. */
export function leadView(
  teams: Cache,
  agents: Cache,
  ns: string,
  agent: string,
  logger?: Logger,
): LeadView | undefined {
  return leadViewOf(teamsReferencing(teams, ns, agent, logger), agent, (name) => AGENT_KIND.lookup(agents, ns, name));
}

/** The delegators whose roster lists `agent` (so an edit to it must re-render them). */
export function delegatorsOf(teams: Cache, ns: string, agent: string): string[] {
  const out = new Set<string>();
  for (const team of teamsReferencing(teams, ns, agent)) {
    for (const name of teamAgents(team)) {
      if (name !== agent && isDelegator(team, name) && targetsFor(team, name).includes(agent)) out.add(name);
    }
  }
  return [...out];
}

/** Requests for every agent a team names. */
export function teamAgentRequests(team: KubernetesObject): Request[] {
  const namespace = team.metadata?.namespace ?? "";
  return agentsNamedByTeam(team).map((name) => ({ namespace, name }));
}
