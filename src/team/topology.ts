/**
 * Who may delegate to whom in an AgentTeam: one pure description of the four patterns, shared by the
 * Agent reconciler (who gets the team view), the AgentTeam reconciler (status, NetworkPolicies) and
 * delegation admission.
 *
 * | pattern     | edges                                                    | team entry     | may call the team |
 * |-------------|----------------------------------------------------------|----------------|-------------------|
 * | hubAndSpoke | lead → each member                                       | the lead       | nobody            |
 * | pipeline    | stage n → stage n+1                                      | (the pipeline) | lead, if set      |
 * | federated   | lead → group leads; group lead → its members, other group leads | the lead | nobody         |
 * | swarm       | lead (if set) → the member                               | the member     | lead, if set      |
 */
import type { AgentTeam } from "../api/team.ts";

/** A permitted delegation between two agents of the team's namespace. */
export interface Edge {
  from: string;
  to: string;
}

function unique(names: Iterable<string | undefined>): string[] {
  const seen = new Set<string>();
  for (const name of names) if (name) seen.add(name);
  return [...seen];
}

/** Every agent the team names: lead, members, stages, then each group's lead and members; in that order, deduplicated. */
export function teamAgents(team: AgentTeam): string[] {
  const { lead, members = [], stages = [], groups = [] } = team.spec;
  return unique([
    lead,
    ...members.map((m) => m.agent),
    ...stages,
    ...groups.flatMap((g) => [g.lead, ...(g.members ?? [])]),
  ]);
}

/** Who may delegate to whom, without duplicates or self-edges, in a stable order. */
export function edges(team: AgentTeam): Edge[] {
  const { pattern, lead, members = [], stages = [], groups = [] } = team.spec;
  const out: Edge[] = [];
  const seen = new Set<string>();
  const add = (from: string | undefined, to: string | undefined) => {
    if (!from || !to || from === to) return;
    const key = `${from}\0${to}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ from, to });
  };
  switch (pattern) {
    case "hubAndSpoke":
    case "swarm":
      for (const m of members) add(lead, m.agent);
      break;
    case "pipeline":
      for (let i = 0; i + 1 < stages.length; i++) add(stages[i], stages[i + 1]);
      break;
    case "federated":
      for (const g of groups) add(lead, g.lead);
      for (const g of groups) {
        for (const m of g.members ?? []) add(g.lead, m);
        for (const other of groups) add(g.lead, other.lead);
      }
      break;
  }
  return out;
}

/**
 * The agent a Delegation that names only the team goes to: the lead (hubAndSpoke, federated) or the
 * member (swarm). undefined for a pipeline, which runs as a whole, stage after stage.
 */
export function teamEntry(team: AgentTeam): string | undefined {
  const { pattern, lead, members = [] } = team.spec;
  switch (pattern) {
    case "hubAndSpoke":
    case "federated":
      return lead;
    case "swarm":
      return members[0]?.agent;
    case "pipeline":
      return undefined;
  }
}

/**
 * Agents allowed to delegate to the team itself (a Delegation with `team` and no agent): the lead of a
 * pipeline or swarm. In hubAndSpoke and federated teams only people and scripts may.
 */
export function teamCallers(team: AgentTeam): string[] {
  const { pattern, lead } = team.spec;
  return (pattern === "pipeline" || pattern === "swarm") && lead ? [lead] : [];
}

/**
 * The agents `from` may name as `to`: the targets of its outgoing edges. A person or script
 * (`from` undefined) may name any agent of the team. Calling the team itself is governed by
 * teamCallers; a pipeline's stage 0 child comes from the parent's caller and is admitted by the
 * pipeline rule, not by this function.
 */
export function targetsFor(team: AgentTeam, from: string | undefined): string[] {
  if (from === undefined) return teamAgents(team);
  return edges(team)
    .filter((e) => e.from === from)
    .map((e) => e.to);
}

/**
 * A delegator gets the MCP client, the delegation skill and the roster: an agent with an outgoing
 * edge, or one in teamCallers. Pipeline stages are not delegators: the controller chains them.
 */
export function isDelegator(team: AgentTeam, agent: string): boolean {
  if (teamCallers(team).includes(agent)) return true;
  if (team.spec.pattern === "pipeline") return false;
  return edges(team).some((e) => e.from === agent);
}
