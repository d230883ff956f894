/**
 * A delegator's view of its teams: who it may delegate to, with the static facts a model needs to
 * choose (role, description, capabilities). Readiness is left out on purpose: it would roll the lead
 * whenever a pod flaps; `list_team` serves it live. Pure.
 */
import type { Agent } from "../api/agent.ts";
import type { AgentTeam, TeamPattern } from "../api/team.ts";
import { isDelegator, targetsFor, teamAgents, teamCallers } from "./topology.ts";

export interface RosterEntry {
  agent: string;
  /** spec.members[].role, or the agent's place in a federated team's groups. */
  role?: string;
  description?: string;
  capabilities: string[];
  /** False while the Agent named by the team does not exist. */
  exists: boolean;
}

export interface TeamView {
  name: string;
  pattern: TeamPattern;
  /** The agents this delegator may name, in topology order. */
  targets: RosterEntry[];
  /** It may delegate to the team as a whole (teamCallers). */
  canCallTeam: boolean;
  /** A pipeline's stages in order, when canCallTeam. */
  stages?: string[];
}

export interface LeadView {
  /** The teams in which the agent delegates, sorted by name. */
  teams: TeamView[];
}

/** The team's delegators, in teamAgents order. */
export function teamDelegators(team: AgentTeam): string[] {
  return teamAgents(team).filter((agent) => isDelegator(team, agent));
}

function roleOf(team: AgentTeam, agent: string): string | undefined {
  const member = team.spec.members?.find((m) => m.agent === agent);
  if (member?.role) return member.role;
  for (const group of team.spec.groups ?? []) {
    if (group.lead === agent) return `lead of group ${group.name}`;
    if (group.members?.includes(agent)) return `member of group ${group.name}`;
  }
  return undefined;
}

/**
 * The view of `agent` over `teams` (those of its namespace), or undefined when it delegates in none.
 * `lookup` returns the Agent of that name in the namespace, if it exists.
 */
export function leadViewOf(
  teams: readonly AgentTeam[],
  agent: string,
  lookup: (name: string) => Agent | undefined,
): LeadView | undefined {
  const views: TeamView[] = [];
  for (const team of teams) {
    if (!isDelegator(team, agent)) continue;
    const canCallTeam = teamCallers(team).includes(agent);
    const targets = targetsFor(team, agent).map((name): RosterEntry => {
      const found = lookup(name);
      const role = roleOf(team, name);
      const description = found?.spec.description;
      return {
        agent: name,
        ...(role !== undefined && { role }),
        ...(description !== undefined && { description }),
        capabilities: [...(found?.spec.capabilities ?? [])].sort(),
        exists: found !== undefined,
      };
    });
    views.push({
      name: team.metadata.name!,
      pattern: team.spec.pattern,
      targets,
      canCallTeam,
      ...(canCallTeam && team.spec.pattern === "pipeline" && { stages: [...(team.spec.stages ?? [])] }),
    });
  }
  if (views.length === 0) return undefined;
  views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { teams: views };
}
