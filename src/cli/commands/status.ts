/**
 * `clawcrew status`: teams with their pattern, lead and members; each member's readiness, replicas,
 * queued and in-flight Delegations; and the last Delegations with outcome and duration. Agent and team
 * status carry no queue counts, so they are counted here from the namespace's Delegations.
 */
import type { Agent } from "../../api/agent.ts";
import type { Delegation } from "../../api/delegation.ts";
import { LABEL_TEAM } from "../../api/labels.ts";
import type { AgentTeam } from "../../api/team.ts";
import { CONNECTION_HELP, CONNECTION_OPTIONS, OUTPUT_HELP, OUTPUT_OPTION, outputFormat, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { CliError, EXIT_SUCCEEDED, UsageError } from "../errors.ts";
import { connect, GVR } from "../kube.ts";
import { createdAt, durationOf, formatDuration, paint, phaseStyle, printData, table } from "../output.ts";
import { outcome } from "../progress.ts";

const OPTIONS = { ...CONNECTION_OPTIONS, ...OUTPUT_OPTION, last: { type: "string" } } as const;

export const status: Command = {
  name: "status",
  summary: "show teams, their members' readiness and load, and the last delegations",
  help: `Usage: clawcrew status [TEAM] [flags]

Flags:
      --last N           how many recent delegations to list per team (default 5)
${OUTPUT_HELP} ({teams: [{team, members, delegations}]})
${CONNECTION_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse("status", argv, OPTIONS);
    const format = outputFormat("status", values.output);
    if (positionals.length > 1) throw new UsageError(`status: takes at most one TEAM, got ${positionals.join(" ")}`);
    const last = values.last === undefined ? 5 : Number(values.last);
    if (!Number.isInteger(last) || last < 0)
      throw new UsageError(`--last: must be a whole number, not "${values.last}"`);
    const cluster = connect(values);
    const list = async <T>(gvr: (typeof GVR)[keyof typeof GVR]) =>
      (await cluster.client.get<{ items: T[] }>(cluster.path(gvr))).items;
    const [teams, agents, delegations] = await Promise.all([
      list<AgentTeam>(GVR.teams),
      list<Agent>(GVR.agents),
      list<Delegation>(GVR.delegations),
    ]);
    const shown = positionals.length ? teams.filter((t) => t.metadata.name === positionals[0]) : teams;
    if (positionals.length && !shown.length)
      throw new CliError(`AgentTeam "${positionals[0]}" not found in namespace ${cluster.namespace}`);
    const views = shown.map((t) => teamView(t, agents, delegations, last));
    if (format !== "text") printData(out, format, { teams: views });
    else if (!views.length) out.line(`No AgentTeams in namespace ${cluster.namespace}.`);
    else for (const line of statusLines(views, out.color)) out.line(line);
    return EXIT_SUCCEEDED;
  },
};

export interface MemberView {
  agent: string;
  role: string;
  ready: boolean;
  readyReplicas: number;
  replicas: number;
  queued: number;
  inFlight: number;
}

export interface DelegationView {
  name: string;
  to: string;
  outcome: string;
  phase: string;
  duration: string;
  created: string | undefined;
}

export interface TeamView {
  team: string;
  pattern: string;
  lead?: string;
  readyMembers?: string;
  members: MemberView[];
  delegations: DelegationView[];
}

function agentsOf(team: AgentTeam): { agent: string; role: string }[] {
  const spec = team.spec;
  const named = new Map<string, string>();
  if (spec.lead) named.set(spec.lead, "lead");
  for (const [i, s] of (spec.stages ?? []).entries()) named.set(s, named.get(s) ?? `stage ${i}`);
  for (const g of spec.groups ?? []) {
    if (g.lead) named.set(g.lead, named.get(g.lead) ?? `${g.name} lead`);
    for (const m of g.members ?? []) named.set(m, named.get(m) ?? g.name);
  }
  for (const m of spec.members ?? []) named.set(m.agent, named.get(m.agent) ?? m.role ?? "member");
  return [...named].map(([agent, role]) => ({ agent, role }));
}

export function teamView(
  team: AgentTeam,
  agents: Agent[],
  delegations: Delegation[],
  last: number,
  now = Date.now(),
): TeamView {
  const name = team.metadata.name!;
  const ofTeam = delegations.filter((d) => d.spec.team === name || d.metadata.labels?.[LABEL_TEAM] === name);
  const members = agentsOf(team).map(({ agent, role }) => {
    const a = agents.find((x) => x.metadata.name === agent);
    const memberStatus = team.status?.members?.find((m) => m.agent === agent);
    const routedTo = (d: Delegation) => (d.status?.agent ?? d.spec.to) === agent;
    return {
      agent,
      role,
      ready: memberStatus?.ready ?? false,
      readyReplicas: a?.status?.readyReplicas ?? 0,
      replicas: a?.spec.replicas ?? a?.status?.replicas ?? 0,
      queued: delegations.filter((d) => (d.status?.phase ?? "Pending") === "Pending" && routedTo(d)).length,
      inFlight: delegations.filter((d) => d.status?.phase === "Running" && routedTo(d)).length,
    };
  });
  const recent = [...ofTeam]
    .sort((x, y) => (createdAt(y.metadata) ?? "").localeCompare(createdAt(x.metadata) ?? ""))
    .slice(0, last)
    .map((d) => ({
      name: d.metadata.name!,
      to: d.status?.agent ?? d.spec.to ?? (d.spec.capability ? `capability ${d.spec.capability}` : "-"),
      outcome: outcome(d),
      phase: d.status?.phase ?? "Pending",
      duration: d.status?.startTime ? durationOf(d.status.startTime, d.status.completionTime, now) : "-",
      created: createdAt(d.metadata),
    }));
  return {
    team: name,
    pattern: team.spec.pattern,
    ...(team.spec.lead && { lead: team.spec.lead }),
    ...(team.status?.readyMembers && { readyMembers: team.status.readyMembers }),
    members,
    delegations: recent,
  };
}

export function statusLines(views: TeamView[], color: boolean, now = Date.now()): string[] {
  const lines: string[] = [];
  for (const v of views) {
    if (lines.length) lines.push("");
    lines.push(
      paint(color, "bold", `Team ${v.team}`) +
        `  pattern ${v.pattern}  lead ${v.lead ?? "-"}  ready ${v.readyMembers ?? "-"}`,
    );
    const members = v.members.map((m) => [
      m.agent,
      m.role,
      m.ready ? paint(color, "green", "yes") : paint(color, "red", "no"),
      `${m.readyReplicas}/${m.replicas}`,
      String(m.queued),
      String(m.inFlight),
    ]);
    lines.push(...table(["MEMBER", "ROLE", "READY", "REPLICAS", "QUEUED", "IN-FLIGHT"], members).map((l) => `  ${l}`));
    if (!v.delegations.length) {
      lines.push("  no delegations");
      continue;
    }
    lines.push("");
    const rows = v.delegations.map((d) => [
      d.name,
      d.to,
      paint(color, phaseStyle(d.phase), d.outcome),
      d.duration,
      d.created ? formatDuration(now - Date.parse(d.created)) : "-",
    ]);
    lines.push(...table(["DELEGATION", "AGENT", "OUTCOME", "DURATION", "AGE"], rows).map((l) => `  ${l}`));
  }
  return lines;
}
