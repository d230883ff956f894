import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { delegationTokenEnv, desiredObjects, type ResolvedInputs } from "../../../src/agent/desired.ts";
import { agentsOfTeam, delegatorsOfAgent, teamWatches } from "../../../src/agent/watches.ts";
import { Agent } from "../../../src/api/agent.ts";
import { addTeamIndexes, BY_AGENT } from "../../../src/api/indexes.ts";
import { AgentTeam } from "../../../src/api/team.ts";
import { validateOpenClawConfig } from "../../../src/openclaw/schema.ts";
import { WorkspaceError } from "../../../src/openclaw/workspace.ts";
import type { Informer } from "../../../src/runtime/informer.ts";
import { IndexedStore, objectKey } from "../../../src/runtime/store.ts";
import { MAX_TEAM_APPENDIX_BYTES, TEAM_APPENDIX_HEADING } from "../../../src/team/files.ts";
import { leadViewOf } from "../../../src/team/view.ts";

function agent(name: string, spec: Record<string, unknown> = {}): Agent {
  return Agent.parse({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name, namespace: "ns", uid: `${name}-uid`, generation: 1 },
    spec: { soul: "# Soul", model: { primary: "openai/gpt-5" }, ...spec },
  });
}

function team(name: string, spec: Record<string, unknown>): AgentTeam {
  return AgentTeam.parse({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name, namespace: "ns", uid: `${name}-uid`, generation: 1 },
    spec,
  });
}

const URL = "http://clawcrew-delegation.clawcrew-system.svc.cluster.local:8082/mcp";
const company = team("company", {
  pattern: "hubAndSpoke",
  lead: "ceo",
  members: [{ agent: "researcher", role: "Research" }, { agent: "writer" }],
});

function leadInputs(members: Map<string, Agent>): ResolvedInputs {
  const view = leadViewOf([company], "ceo", (name) => members.get(name));
  return {
    soul: "# Soul",
    team: view,
    mcpServers: { clawcrew: { url: URL, tokenEnv: "CLAWCREW_DELEGATION_TOKEN" } },
    extraEnv: [delegationTokenEnv("ceo")],
  };
}

const members = new Map([
  ["researcher", agent("researcher", { description: "Finds sources.", capabilities: ["research"] })],
  ["writer", agent("writer", { description: "Writes." })],
]);

describe("desiredObjects for a lead", () => {
  const lead = agent("ceo", { instructions: "Run the company.", timeoutSeconds: 900 });
  const objects = desiredObjects(lead, leadInputs(members));
  const data = objects.configMap.data!;
  const config = JSON.parse(data["openclaw.json"]!);

  it("configures the clawcrew MCP server with the lead's delegation token, and OpenClaw's schema accepts it", () => {
    expect(config.mcp.servers.clawcrew).toEqual({
      url: URL,
      transport: "streamable-http",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
      headers: { Authorization: "Bearer ${CLAWCREW_DELEGATION_TOKEN}" },
      requestTimeoutMs: 900_000,
    });
    expect(validateOpenClawConfig(config)).toEqual({ ok: true });
    const env = objects.workload.object.spec!.template.spec!.containers[0]!.env!;
    expect(env.find((e) => e.name === "CLAWCREW_DELEGATION_TOKEN")?.valueFrom).toEqual({
      secretKeyRef: { name: "ceo-token", key: "delegation-token" },
    });
    // The gateway keeps its own token for its own auth.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
    expect(config.gateway.auth.token).toBe("${OPENCLAW_GATEWAY_TOKEN}");
    expect(config.agents.defaults.bootstrapMaxChars).toBeGreaterThanOrEqual(64 * 1024 + MAX_TEAM_APPENDIX_BYTES);
  });

  it("renders the delegation skill with the roster, and appends the team to AGENTS.md", () => {
    const skill = data["workspace__skills__clawcrew-delegation__SKILL.md"]!;
    expect(skill).toContain("name: clawcrew-delegation");
    expect(skill).toContain("| researcher | Research | research | Finds sources. |");
    expect(skill).toContain("| writer |  |  | Writes. |");
    expect(data["workspace__AGENTS.md"]).toBe(
      `Run the company.\n\n${TEAM_APPENDIX_HEADING}\n\nYou delegate work through the clawcrew-delegation skill (tools delegate and list_team).\n\n- Team company (hubAndSpoke): you may delegate to researcher, writer.\n`,
    );
    const items = objects.workload.object.spec!.template.spec!.volumes!.find((v) => v.name === "config")!.configMap!
      .items!;
    expect(items).toContainEqual({
      key: "workspace__skills__clawcrew-delegation__SKILL.md",
      path: "workspace/skills/clawcrew-delegation/SKILL.md",
    });
  });

  it("labels the lead's pods as a delegator, and no one else's", () => {
    const labels = objects.workload.object.spec!.template.metadata!.labels!;
    expect(labels["clawcrew.io/delegator"]).toBe("true");
    expect(objects.workload.object.spec!.selector.matchLabels).toEqual({ "clawcrew.io/agent": "ceo" });
    const member = desiredObjects(
      agent("researcher", { podTemplate: { metadata: { labels: { "clawcrew.io/delegator": "true", x: "y" } } } }),
      { soul: "# Soul" },
    );
    const memberLabels = member.workload.object.spec!.template.metadata!.labels!;
    expect(memberLabels["clawcrew.io/delegator"]).toBeUndefined();
    expect(memberLabels.x).toBe("y");
    expect(JSON.parse(member.configMap.data!["openclaw.json"]!).mcp).toBeUndefined();
    expect(member.configMap.data!["workspace__skills__clawcrew-delegation__SKILL.md"]).toBeUndefined();
  });

  it("writes AGENTS.md from the team section alone when the lead has no instructions", () => {
    const bare = desiredObjects(agent("ceo"), leadInputs(members));
    expect(bare.configMap.data!["workspace__AGENTS.md"]!.startsWith(TEAM_APPENDIX_HEADING)).toBe(true);
  });

  it("rolls the lead when a member's description changes, and not when nothing changed", () => {
    const again = desiredObjects(lead, leadInputs(new Map(members)));
    expect(again.configHash).toBe(objects.configHash);
    const edited = new Map(members);
    edited.set("writer", agent("writer", { description: "Writes well." }));
    expect(desiredObjects(lead, leadInputs(edited)).configHash).not.toBe(objects.configHash);
    const withoutTeam = desiredObjects(lead, { soul: "# Soul" });
    expect(withoutTeam.configHash).not.toBe(objects.configHash);
  });

  it("refuses a user skill named clawcrew-delegation", () => {
    const clash = agent("ceo", { skills: [{ name: "clawcrew-delegation", content: "---\nname: x\n---\n" }] });
    expect(() => desiredObjects(clash, leadInputs(members))).toThrow(WorkspaceError);
    expect(() => desiredObjects(clash, { soul: "# Soul" })).toThrow(/reserved/);
  });
});

/** Stands in for an informer's cache: the map functions only read it. */
function cache(...objects: KubernetesObject[]): IndexedStore<KubernetesObject> {
  const store = new IndexedStore<KubernetesObject>();
  for (const obj of objects) store.set(objectKey(obj), obj);
  return store;
}

const raw = (obj: Agent | AgentTeam) => structuredClone(obj) as unknown as KubernetesObject;

describe("Agent controller watches for teams", () => {
  it("maps a team to every agent it names, even one that fails the schema", () => {
    expect(agentsOfTeam(raw(company))).toEqual([
      { namespace: "ns", name: "ceo" },
      { namespace: "ns", name: "researcher" },
      { namespace: "ns", name: "writer" },
    ]);
    const broken = { ...raw(company), spec: { pattern: "nope", lead: "ceo", members: [{ agent: "x" }] } };
    expect(agentsOfTeam(broken as KubernetesObject).map((r) => r.name)).toEqual(["ceo", "x"]);
  });

  it("maps an Agent to the delegators that list it, only when its roster fields change", () => {
    const teams = cache(raw(company));
    addTeamIndexes(teams);
    const agentObjects = cache();
    const map = delegatorsOfAgent(teams, agentObjects);
    const writer = raw(agent("writer", { description: "Writes." }));
    agentObjects.set(objectKey(writer), writer);
    expect(map(writer)).toEqual([{ namespace: "ns", name: "ceo" }]); // added
    expect(map(writer)).toEqual([]); // resync: nothing changed

    const statusOnly = { ...writer, status: { readyReplicas: 1 } } as KubernetesObject;
    agentObjects.set(objectKey(writer), statusOnly);
    expect([...map(writer), ...map(statusOnly)]).toEqual([]); // update, both sides

    const edited = raw(agent("writer", { description: "Writes well." }));
    agentObjects.set(objectKey(writer), edited);
    expect([...map(statusOnly), ...map(edited)]).toEqual([{ namespace: "ns", name: "ceo" }]);

    agentObjects.delete(objectKey(writer));
    expect(map(edited)).toEqual([{ namespace: "ns", name: "ceo" }]); // deleted

    const ceo = raw(agent("ceo"));
    agentObjects.set(objectKey(ceo), ceo);
    expect(map(ceo)).toEqual([]); // nobody delegates to the lead
  });

  it("builds both watch sources, and indexes the teams by the agents they name", () => {
    const teams = cache(raw(company));
    const sources = teamWatches(
      teams as unknown as Informer<KubernetesObject>,
      cache() as unknown as Informer<KubernetesObject>,
    );
    expect(sources).toHaveLength(2);
    expect(sources[0]!.map).toBe(agentsOfTeam);
    expect(teams.indexKeys(BY_AGENT, "ns/writer")).toEqual(["ns/company"]);
  });
});
