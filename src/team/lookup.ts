/**
 * Plain functions over the AgentTeam and Agent informers. There is no index: a namespace has few
 * teams, so a scan is cheap. Parsed objects are cached per informer object (informers replace an
 * object on every change, so the cache never goes stale).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { Agent } from "../api/agent.ts";
import { AgentTeam } from "../api/team.ts";
import type { Request } from "../runtime/controller.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import { keyOf } from "../runtime/store.ts";
import { isDelegator, targetsFor, teamAgents } from "./topology.ts";
import { type LeadView, leadViewOf } from "./view.ts";

const parsedTeams = new WeakMap<KubernetesObject, AgentTeam | null>();
const parsedAgents = new WeakMap<KubernetesObject, Agent | null>();

/** The AgentTeam, or undefined when it does not match the schema (a CRD older than the operator). */
export function parseTeam(obj: KubernetesObject, logger?: Logger): AgentTeam | undefined {
  let parsed = parsedTeams.get(obj);
  if (parsed === undefined) {
    const result = AgentTeam.safeParse(obj);
    parsed = result.success ? result.data : null;
    if (!result.success) {
      logger?.warn(
        { namespace: obj.metadata?.namespace, name: obj.metadata?.name, problem: result.error.message },
        "AgentTeam does not match the schema; ignored",
      );
    }
    parsedTeams.set(obj, parsed);
  }
  return parsed ?? undefined;
}

export function parseAgent(obj: KubernetesObject | undefined): Agent | undefined {
  if (!obj) return undefined;
  let parsed = parsedAgents.get(obj);
  if (parsed === undefined) {
    const result = Agent.safeParse(obj);
    parsed = result.success ? result.data : null;
    parsedAgents.set(obj, parsed);
  }
  return parsed ?? undefined;
}

/**
 * The agents an AgentTeam object names, read leniently so that even an object that fails the schema
 * maps to the agents it names (an update's old side must still reach a removed lead).
 */
export function agentsNamedBy(obj: KubernetesObject): string[] {
  const parsed = parseTeam(obj);
  if (parsed) return teamAgents(parsed);
  const spec = (obj as { spec?: Record<string, unknown> }).spec ?? {};
  const names: unknown[] = [spec.lead];
  if (Array.isArray(spec.members)) for (const m of spec.members) names.push((m as { agent?: unknown })?.agent);
  if (Array.isArray(spec.stages)) names.push(...spec.stages);
  if (Array.isArray(spec.groups)) {
    for (const g of spec.groups as { lead?: unknown; members?: unknown }[]) {
      names.push(g?.lead);
      if (Array.isArray(g?.members)) names.push(...g.members);
    }
  }
  return [...new Set(names.filter((n): n is string => typeof n === "string" && n.length > 0))];
}

/** The valid AgentTeams of a namespace, sorted by name. */
export function teamsInNamespace(teams: Informer<KubernetesObject>, ns: string, logger?: Logger): AgentTeam[] {
  const out: AgentTeam[] = [];
  for (const obj of teams.list()) {
    if (obj.metadata?.namespace !== ns || obj.metadata.deletionTimestamp) continue;
    const team = parseTeam(obj, logger);
    if (team) out.push(team);
  }
  return out.sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
}

/** The teams of the namespace that name `agent`. */
export function teamsReferencing(
  teams: Informer<KubernetesObject>,
  ns: string,
  agent: string,
  logger?: Logger,
): AgentTeam[] {
  return teamsInNamespace(teams, ns, logger).filter((t) => teamAgents(t).includes(agent));
}

/** The team view of `agent`, or undefined when it delegates in no team. */
export function leadView(
  teams: Informer<KubernetesObject>,
  agents: Informer<KubernetesObject>,
  ns: string,
  agent: string,
  logger?: Logger,
): LeadView | undefined {
  return leadViewOf(teamsReferencing(teams, ns, agent, logger), agent, (name) =>
    parseAgent(agents.get(keyOf({ namespace: ns, name }))),
  );
}

/** The delegators whose roster lists `agent` (so an edit to it must re-render them). */
export function delegatorsOf(teams: Informer<KubernetesObject>, ns: string, agent: string): string[] {
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
  return agentsNamedBy(team).map((name) => ({ namespace, name }));
}
