import { describe, expect, it } from "vitest";
import { AgentTeam } from "../../../src/api/team.ts";
import { edges, isDelegator, targetsFor, teamAgents, teamCallers, teamEntry } from "../../../src/team/topology.ts";

function team(spec: Record<string, unknown>, name = "t"): AgentTeam {
  return AgentTeam.parse({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name, namespace: "ns", uid: "team-uid", generation: 1 },
    spec,
  });
}

const hub = team({
  pattern: "hubAndSpoke",
  lead: "ceo",
  members: [{ agent: "researcher", role: "research" }, { agent: "coder" }, { agent: "writer" }],
});
const pipeline = team({ pattern: "pipeline", stages: ["research", "draft", "edit"] });
const pipelineWithLead = team({ pattern: "pipeline", lead: "editor", stages: ["research", "draft"] });
const federated = team({
  pattern: "federated",
  lead: "ceo",
  groups: [
    { name: "eng", lead: "cto", members: ["backend", "frontend"] },
    { name: "sales", lead: "cso", members: ["rep"] },
    { name: "ops", lead: "coo" },
  ],
});
const swarm = team({ pattern: "swarm", members: [{ agent: "worker" }] });
const swarmWithLead = team({ pattern: "swarm", lead: "dispatcher", members: [{ agent: "worker" }] });

const e = (from: string, to: string) => ({ from, to });

describe("topology", () => {
  it.each([
    ["hubAndSpoke", hub, ["ceo", "researcher", "coder", "writer"]],
    ["pipeline", pipeline, ["research", "draft", "edit"]],
    ["pipeline with lead", pipelineWithLead, ["editor", "research", "draft"]],
    ["federated", federated, ["ceo", "cto", "backend", "frontend", "cso", "rep", "coo"]],
    ["swarm", swarm, ["worker"]],
    ["swarm with lead", swarmWithLead, ["dispatcher", "worker"]],
  ])("teamAgents(%s)", (_name, t, agents) => {
    expect(teamAgents(t)).toEqual(agents);
  });

  it("deduplicates agents named twice", () => {
    const t = team({
      pattern: "federated",
      lead: "ceo",
      groups: [
        { name: "a", lead: "x", members: ["shared"] },
        { name: "b", lead: "y", members: ["shared", "x"] },
      ],
    });
    expect(teamAgents(t)).toEqual(["ceo", "x", "shared", "y"]);
    // y → x is both a group-lead edge and a membership edge: listed once.
    expect(edges(t).filter((edge) => edge.from === "y" && edge.to === "x")).toHaveLength(1);
  });

  it.each([
    ["hubAndSpoke", hub, [e("ceo", "researcher"), e("ceo", "coder"), e("ceo", "writer")]],
    ["pipeline", pipeline, [e("research", "draft"), e("draft", "edit")]],
    ["pipeline with lead", pipelineWithLead, [e("research", "draft")]],
    [
      "federated",
      federated,
      [
        e("ceo", "cto"),
        e("ceo", "cso"),
        e("ceo", "coo"),
        e("cto", "backend"),
        e("cto", "frontend"),
        e("cto", "cso"),
        e("cto", "coo"),
        e("cso", "rep"),
        e("cso", "cto"),
        e("cso", "coo"),
        e("coo", "cto"),
        e("coo", "cso"),
      ],
    ],
    ["swarm", swarm, []],
    ["swarm with lead", swarmWithLead, [e("dispatcher", "worker")]],
  ])("edges(%s)", (_name, t, expected) => {
    expect(edges(t)).toEqual(expected);
  });

  it.each([
    ["hubAndSpoke", hub, "ceo", []],
    ["pipeline", pipeline, undefined, []],
    ["pipeline with lead", pipelineWithLead, undefined, ["editor"]],
    ["federated", federated, "ceo", []],
    ["swarm", swarm, "worker", []],
    ["swarm with lead", swarmWithLead, "worker", ["dispatcher"]],
  ])("teamEntry and teamCallers(%s)", (_name, t, entry, callers) => {
    expect(teamEntry(t)).toBe(entry);
    expect(teamCallers(t)).toEqual(callers);
  });

  it("targetsFor follows the edges; a person may name any agent of the team", () => {
    expect(targetsFor(hub, "ceo")).toEqual(["researcher", "coder", "writer"]);
    expect(targetsFor(hub, "researcher")).toEqual([]);
    expect(targetsFor(hub, "stranger")).toEqual([]);
    expect(targetsFor(hub, undefined)).toEqual(["ceo", "researcher", "coder", "writer"]);

    expect(targetsFor(pipeline, "research")).toEqual(["draft"]);
    expect(targetsFor(pipeline, "draft")).toEqual(["edit"]);
    expect(targetsFor(pipeline, "edit")).toEqual([]);
    expect(targetsFor(pipelineWithLead, "editor")).toEqual([]);
    expect(targetsFor(pipeline, undefined)).toEqual(["research", "draft", "edit"]);

    expect(targetsFor(federated, "ceo")).toEqual(["cto", "cso", "coo"]);
    expect(targetsFor(federated, "cto")).toEqual(["backend", "frontend", "cso", "coo"]);
    expect(targetsFor(federated, "coo")).toEqual(["cto", "cso"]);
    expect(targetsFor(federated, "backend")).toEqual([]);
    expect(targetsFor(federated, undefined)).toEqual(teamAgents(federated));

    expect(targetsFor(swarm, "worker")).toEqual([]);
    expect(targetsFor(swarmWithLead, "dispatcher")).toEqual(["worker"]);
    expect(targetsFor(swarmWithLead, undefined)).toEqual(["dispatcher", "worker"]);
  });

  it("isDelegator: an outgoing edge or a team caller, never a pipeline stage", () => {
    const delegators = (t: AgentTeam) => teamAgents(t).filter((a) => isDelegator(t, a));
    expect(delegators(hub)).toEqual(["ceo"]);
    expect(delegators(pipeline)).toEqual([]);
    expect(delegators(pipelineWithLead)).toEqual(["editor"]);
    expect(delegators(federated)).toEqual(["ceo", "cto", "cso", "coo"]);
    expect(delegators(swarm)).toEqual([]);
    expect(delegators(swarmWithLead)).toEqual(["dispatcher"]);
    expect(isDelegator(hub, "stranger")).toBe(false);
  });
});
