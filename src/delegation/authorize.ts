/**
 * Admission of a Delegation against its team's topology. Pure: the
 * caller passes what the caches hold. Shared by the endpoint (before it creates anything) and the
 * reconciler (for Delegations made with kubectl, with `caller = spec.from`).
 */
import type { Agent } from "../api/agent.ts";
import type { Delegation } from "../api/delegation.ts";
import type { AgentTeam } from "../api/team.ts";
import { isDelegator, targetsFor, teamAgents, teamCallers, teamEntry } from "../team/topology.ts";
import { DEFAULT_MAX_DEPTH } from "./policy.ts";

export type AuthorizeCode = "NotFound" | "Forbidden" | "MaxDepth" | "Loop" | "Ambiguous";

export interface AuthorizeInput {
  /** The delegating agent; undefined for a person or script. */
  caller: string | undefined;
  team?: string | undefined;
  to?: string | undefined;
  capability?: string | undefined;
  parent?: string | undefined;
  /** The valid AgentTeams of the namespace. */
  teams: readonly AgentTeam[];
  agent: (name: string) => Agent | undefined;
  delegation: (name: string) => Delegation | undefined;
  /**
   * The endpoint's rule: an explicit parent must be Running and assigned to the caller. Without
   * it (the controller), the parent only has to exist.
   */
  strictParent?: boolean;
}

export type AuthorizeResult =
  | {
      ok: true;
      team?: AgentTeam | undefined;
      /** Agents the Delegation may go to, best first; empty for a pipeline. */
      candidates: string[];
      /** The whole pipeline runs (a pipeline team with no `to` or `capability`). */
      pipeline: boolean;
      /** 1 for a root Delegation. */
      depth: number;
    }
  | { ok: false; code: AuthorizeCode; message: string; missing?: "team" | "agent" | "parent" };

type Refusal = Extract<AuthorizeResult, { ok: false }>;

const refuse = (code: AuthorizeCode, message: string, missing?: Refusal["missing"]): Refusal => ({
  ok: false,
  code,
  message,
  ...(missing && { missing }),
});

const who = (caller: string | undefined) => caller ?? "a person or script";
const list = (names: string[]) => (names.length ? names.join(", ") : "nobody");

export function authorize(input: AuthorizeInput): AuthorizeResult {
  const { caller, to, capability } = input;

  // 1. The team.
  let team: AgentTeam | undefined;
  if (input.team) {
    team = input.teams.find((t) => t.metadata.name === input.team);
    if (!team) return refuse("NotFound", `AgentTeam ${input.team} not found`, "team");
  } else if (caller !== undefined) {
    const capable = (t: AgentTeam) =>
      targetsFor(t, caller).some((a) => input.agent(a)?.spec.capabilities?.includes(capability!));
    const usable = input.teams.filter((t) =>
      to ? targetsFor(t, caller).includes(to) : capability ? capable(t) : isDelegator(t, caller),
    );
    if (to && usable.length === 0) {
      return refuse("Forbidden", `refused: ${caller} may not delegate to ${to} in any team`);
    }
    if (capability && usable.length === 0) {
      return refuse("Forbidden", `refused: no team lets ${caller} delegate to an agent with capability ${capability}`);
    }
    if (!to) {
      if (usable.length === 0) return refuse("Forbidden", `refused: ${caller} delegates in no team`);
      if (usable.length > 1) {
        return refuse(
          "Ambiguous",
          `${caller} delegates in several teams (${usable.map((t) => t.metadata.name).join(", ")}): name the team`,
        );
      }
    }
    team = usable[0];
  }

  // 2. The candidates.
  let candidates: string[];
  let pipeline = false;
  if (!team) {
    // A person or script naming an agent directly: RBAC on delegations is the gate.
    if (!to) return refuse("NotFound", "a Delegation without a team needs spec.to", "agent");
    candidates = [to];
  } else {
    const name = team.metadata.name;
    const pattern = team.spec.pattern;
    const allowed = targetsFor(team, caller);
    const rule = () =>
      caller === undefined
        ? `the members of team ${name} are ${list(teamAgents(team))}`
        : `in team ${name} (${pattern}) ${caller} may delegate to ${list(allowed)}`;
    if (to) {
      if (!teamAgents(team).includes(to)) return refuse("Forbidden", `refused: ${to} is not in team ${name}`);
      if (!allowed.includes(to)) return refuse("Forbidden", `refused: ${rule()}, not to ${to}`);
      candidates = [to];
    } else if (capability) {
      candidates = allowed.filter((a) => input.agent(a)?.spec.capabilities?.includes(capability));
      if (candidates.length === 0) {
        return refuse("NotFound", `no agent with capability ${capability} that ${rule()}`, "agent");
      }
    } else {
      if (caller !== undefined && !teamCallers(team).includes(caller)) {
        return refuse(
          "Forbidden",
          `refused: only ${list(teamCallers(team))} may delegate to team ${name} (${pattern}) itself`,
        );
      }
      if (pattern === "pipeline") {
        pipeline = true;
        candidates = [];
      } else {
        const entry = teamEntry(team);
        if (!entry) return refuse("NotFound", `team ${name} has no entry agent`, "agent");
        candidates = [entry];
      }
    }
  }
  if (!pipeline && !capability) {
    const target = candidates[0]!;
    if (!input.agent(target)) return refuse("NotFound", `Agent ${target} not found`, "agent");
  }

  // 3. Depth and loops through the parent chain.
  const maxDepth = team?.spec.delegation?.maxDepth ?? DEFAULT_MAX_DEPTH;
  let depth = 1;
  const ancestors = new Set<string>();
  if (input.parent) {
    const parent = input.delegation(input.parent);
    if (!parent) return refuse("NotFound", `parent Delegation ${input.parent} not found`, "parent");
    if (input.strictParent && (parent.status?.phase !== "Running" || parent.status.agent !== caller)) {
      return refuse("Forbidden", `refused: parent Delegation ${input.parent} is not a running task of ${who(caller)}`);
    }
    let current: Delegation | undefined = parent;
    const seen = new Set<string>();
    while (current && depth <= maxDepth) {
      const currentName = current.metadata.name ?? "";
      if (seen.has(currentName)) break;
      seen.add(currentName);
      depth++;
      if (current.status?.agent) ancestors.add(current.status.agent);
      if (current.spec.to) ancestors.add(current.spec.to);
      if (current.spec.from) ancestors.add(current.spec.from);
      current = current.spec.parent ? input.delegation(current.spec.parent) : undefined;
    }
    if (depth > maxDepth) {
      return refuse("MaxDepth", `refused: the delegation chain would be deeper than maxDepth ${maxDepth}`);
    }
  }
  if (ancestors.size) {
    const free = candidates.filter((c) => !ancestors.has(c));
    if (candidates.length && free.length === 0) {
      return refuse("Loop", `refused: ${list(candidates)} already works on an enclosing Delegation`);
    }
    candidates = free;
  }
  return { ok: true, team, candidates, pipeline, depth };
}
