import { describe, expect, it } from "vitest";
import { Agent } from "../../../src/api/agent.ts";
import { AgentTeam } from "../../../src/api/team.ts";
import {
  MAX_TEAM_APPENDIX_BYTES,
  MAX_TEAM_SKILL_BYTES,
  renderTeamFiles,
  TEAM_APPENDIX_HEADING,
} from "../../../src/team/files.ts";
import { type LeadView, leadViewOf, type RosterEntry } from "../../../src/team/view.ts";

function team(name: string, spec: Record<string, unknown>): AgentTeam {
  return AgentTeam.parse({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name, namespace: "ns", uid: `${name}-uid`, generation: 1 },
    spec,
  });
}

function agent(name: string, spec: Record<string, unknown> = {}): Agent {
  return Agent.parse({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name, namespace: "ns", uid: `${name}-uid` },
    spec: { soul: "x", model: { primary: "openai/gpt-5" }, ...spec },
  });
}

const agents = new Map([
  [
    "researcher",
    agent("researcher", { description: "Finds sources | cites them.", capabilities: ["web", "research"] }),
  ],
  ["writer", agent("writer", { description: "Writes prose." })],
]);
const lookup = (name: string) => agents.get(name);

const company = team("company", {
  pattern: "hubAndSpoke",
  lead: "ceo",
  members: [{ agent: "researcher", role: "Deep research" }, { agent: "writer" }, { agent: "coder" }],
});
const draft = team("draft", { pattern: "pipeline", lead: "ceo", stages: ["researcher", "writer"] });
const org = team("org", {
  pattern: "federated",
  lead: "boss",
  groups: [
    { name: "eng", lead: "ceo", members: ["coder"] },
    { name: "ops", lead: "coo" },
  ],
});

describe("leadViewOf", () => {
  it("lists the targets of each team the agent delegates in, sorted by team name", () => {
    const view = leadViewOf([draft, company, org], "ceo", lookup)!;
    expect(view.teams.map((t) => t.name)).toEqual(["company", "draft", "org"]);
    expect(view.teams[0]).toEqual({
      name: "company",
      pattern: "hubAndSpoke",
      canCallTeam: false,
      targets: [
        {
          agent: "researcher",
          role: "Deep research",
          description: "Finds sources | cites them.",
          capabilities: ["research", "web"],
          exists: true,
        },
        { agent: "writer", description: "Writes prose.", capabilities: [], exists: true },
        { agent: "coder", capabilities: [], exists: false },
      ],
    });
    expect(view.teams[1]).toEqual({
      name: "draft",
      pattern: "pipeline",
      canCallTeam: true,
      targets: [],
      stages: ["researcher", "writer"],
    });
    expect(view.teams[2]!.targets.map((t) => [t.agent, t.role])).toEqual([
      ["coder", "member of group eng"],
      ["coo", "lead of group ops"],
    ]);
  });

  it("is undefined for an agent that delegates nowhere (members, pipeline stages)", () => {
    expect(leadViewOf([company, draft], "researcher", lookup)).toBeUndefined();
    expect(leadViewOf([company], "stranger", lookup)).toBeUndefined();
    expect(leadViewOf([], "ceo", lookup)).toBeUndefined();
  });
});

describe("renderTeamFiles", () => {
  const view = leadViewOf([company, draft], "ceo", lookup)!;
  const files = renderTeamFiles(view);

  it("writes the skill with front matter, how to call the tools, the rules and the roster", () => {
    expect(files.skill.startsWith("---\nname: clawcrew-delegation\n")).toBe(true);
    expect(files.skill).toContain("description: Delegate tasks to your team through the clawcrew delegate tool\n---\n");
    expect(files.skill).toContain("`tool_search`");
    expect(files.skill).toContain("mcp:clawcrew:clawcrew__delegate");
    expect(files.skill).toContain("mcp:clawcrew:clawcrew__list_team");
    expect(files.skill).toContain("Pass `parent`");
    expect(files.skill).toContain("Do not retry a refusal");
    expect(files.skill).toContain("## Team company (hubAndSpoke)");
    expect(files.skill).toContain("| researcher | Deep research | research, web | Finds sources \\| cites them. |");
    expect(files.skill).toContain("| coder |  |  | (the Agent does not exist yet) |");
    expect(files.skill).toContain("## Team draft (pipeline)");
    expect(files.skill).toContain('pipeline researcher → writer: call delegate with team "draft" and no agent');
  });

  it("appends a short team section for AGENTS.md", () => {
    expect(files.agentsAppendix).toBe(
      `${TEAM_APPENDIX_HEADING}\n\nYou delegate work through the clawcrew-delegation skill (tools delegate and list_team).\n\n` +
        "- Team company (hubAndSpoke): you may delegate to researcher, writer, coder.\n" +
        "- Team draft (pipeline): you may run the pipeline researcher → writer.\n",
    );
  });

  it("is stable for equal views", () => {
    expect(renderTeamFiles(structuredClone(view))).toEqual(files);
  });

  it("caps the AGENTS.md section at 8 KiB and the skill at 64 KiB, pointing at list_team", () => {
    const targets: RosterEntry[] = Array.from({ length: 64 }, (_, i) => ({
      agent: `agent-with-a-rather-long-name-number-${String(i).padStart(3, "0")}`,
      description: "d".repeat(1000),
      capabilities: ["a", "b"],
      exists: true,
    }));
    const big: LeadView = {
      teams: Array.from({ length: 40 }, (_, i) => ({
        name: `team-${String(i).padStart(2, "0")}`,
        pattern: "hubAndSpoke",
        canCallTeam: false,
        targets,
      })),
    };
    const out = renderTeamFiles(big);
    expect(Buffer.byteLength(out.agentsAppendix)).toBeLessThanOrEqual(MAX_TEAM_APPENDIX_BYTES);
    expect(out.agentsAppendix).toMatch(/- …and \d+ more teams: call list_team\.\n$/);
    expect(Buffer.byteLength(out.skill)).toBeLessThanOrEqual(MAX_TEAM_SKILL_BYTES);
    expect(out.skill).toMatch(/\n…and \d+ more: call list_team\.\n$/);
  });
});
