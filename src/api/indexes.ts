/**
 * Index functions for the informers of clawcrew kinds, and the names they are registered under.
 * An index value is the key (`namespace/name`, keyOf) of the object indexed by, so one index serves
 * every namespace (BY_SCALING_MODE, whose values are modes, aside):
 *
 *   delegations.byIndex(BY_TEAM, keyOf({ namespace, name: team }))   // the Delegations of a team
 *   teams.byIndex(BY_AGENT, keyOf({ namespace, name: agent }))       // the AgentTeams naming an agent
 *
 * The modules that look up by an index add it where they are built (addDelegationIndexes,
 * addTeamIndexes, addAgentIndexes), so they work on any informer; adding it again is a no-op. They read the cached object as the API server sent it, defensively: an object that
 * does not match the schema is still indexed by what it names.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { controllerOf } from "../runtime/owned.ts";
import { parseApiVersion } from "../runtime/resource.ts";
import { type IndexedCache, type IndexFunction, keyOf } from "../runtime/store.ts";
import { GROUP } from "./meta.ts";

/** Delegations by spec.team. */
export const BY_TEAM = "team";
/** Delegations by the Agent they target (spec.to) or that does them (status.agent); AgentTeams by each Agent they name. */
export const BY_AGENT = "agent";
/** Delegations by spec.parent and by the Delegation that controls them (a pipeline's stages). */
export const BY_PARENT = "parent";
/** Delegations by the Agent that delegated them (spec.from). */
export const BY_UNFINISHED_CALLER = "unfinishedCaller";
/** Agents with spec.scaling by its mode, "Operator" or "External". */
export const BY_SCALING_MODE = "scalingMode";

type Fields = Record<string, unknown>;

function fieldsOf(obj: KubernetesObject, part: "spec" | "status"): Fields {
  const value = (obj as { spec?: unknown; status?: unknown })[part];
  return typeof value === "object" && value !== null ? (value as Fields) : {};
}

/** The keys, in the object's namespace, of the distinct names among `names`. */
function keysOf(obj: KubernetesObject, names: readonly unknown[]): string[] {
  const namespace = obj.metadata?.namespace ?? "";
  const keys: string[] = [];
  // Index functions run on every watch event of every cached object: a loop, not a pipeline of copies.
  for (const name of names) {
    if (!isName(name)) continue;
    const key = keyOf({ namespace, name });
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

export const delegationTeam: IndexFunction<KubernetesObject> = (d) => keysOf(d, [fieldsOf(d, "spec").team]);

export const delegationAgents: IndexFunction<KubernetesObject> = (d) =>
  keysOf(d, [fieldsOf(d, "spec").to, fieldsOf(d, "status").agent]);

export const delegationParents: IndexFunction<KubernetesObject> = (d) => {
  const owner = controllerOf(d);
  const ownedByDelegation = owner?.kind === "Delegation" && parseApiVersion(owner.apiVersion).group === GROUP;
  return keysOf(d, [fieldsOf(d, "spec").parent, ownedByDelegation ? owner.name : undefined]);
};

/** Only unfinished ones: the endpoint counts what a caller has outstanding on every create. */
export const unfinishedDelegationCaller: IndexFunction<KubernetesObject> = (d) => {
  const phase = fieldsOf(d, "status").phase;
  return phase === "Succeeded" || phase === "Failed" ? [] : keysOf(d, [fieldsOf(d, "spec").from]);
};

/**
 * Every agent an AgentTeam names: lead, members, stages, then each group's lead and members, in that
 * order and without duplicates (for a valid team, what topology's teamAgents returns). Read leniently
 * so that an update's old side still reaches an agent the team no longer names.
 */
export function agentsNamedByTeam(team: KubernetesObject): string[] {
  const spec = fieldsOf(team, "spec");
  const names: unknown[] = [spec.lead];
  if (Array.isArray(spec.members)) for (const m of spec.members) names.push((m as { agent?: unknown } | null)?.agent);
  if (Array.isArray(spec.stages)) names.push(...spec.stages);
  if (Array.isArray(spec.groups)) {
    for (const g of spec.groups as ({ lead?: unknown; members?: unknown } | null)[]) {
      names.push(g?.lead);
      if (Array.isArray(g?.members)) names.push(...g.members);
    }
  }
  return [...new Set(names.filter(isName))];
}

// The CRD defaults scaling.mode; an object read before that default existed scales by the operator.
export const agentScalingMode: IndexFunction<KubernetesObject> = (agent) => {
  const scaling = fieldsOf(agent, "spec").scaling;
  if (typeof scaling !== "object" || scaling === null) return [];
  const mode = (scaling as Fields).mode;
  return [isName(mode) ? mode : "Operator"];
};

export const teamAgentKeys: IndexFunction<KubernetesObject> = (team) => keysOf(team, agentsNamedByTeam(team));

type IndexTarget = Pick<IndexedCache<KubernetesObject>, "addIndexer">;

export function addDelegationIndexes(delegations: IndexTarget): void {
  delegations.addIndexer(BY_TEAM, delegationTeam);
  delegations.addIndexer(BY_AGENT, delegationAgents);
  delegations.addIndexer(BY_PARENT, delegationParents);
  delegations.addIndexer(BY_UNFINISHED_CALLER, unfinishedDelegationCaller);
}

export function addTeamIndexes(teams: IndexTarget): void {
  teams.addIndexer(BY_AGENT, teamAgentKeys);
}

export function addAgentIndexes(agents: IndexTarget): void {
  agents.addIndexer(BY_SCALING_MODE, agentScalingMode);
}
