// Cases the fuzz tests found, each kept as a plain test named after it.
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Agent } from "../../../src/api/agent.ts";
import { AgentTeam, AgentTeamStatus, MAX_TEAM_AGENTS } from "../../../src/api/team.ts";
import { createDelegationServer } from "../../../src/delegation-endpoint/server.ts";
import { renderOpenClawConfig } from "../../../src/openclaw/config.ts";
import { validateOpenClawConfig } from "../../../src/openclaw/schema.ts";
import { teamStatus } from "../../../src/team/status.ts";
import { teamAgents } from "../../../src/team/topology.ts";

describe("fuzz regressions", () => {
  it("a provider model with an empty name renders with its id as the name, which OpenClaw accepts", () => {
    const agent = Agent.parse({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Agent",
      metadata: { name: "a", namespace: "ns" },
      spec: {
        soul: "# Soul",
        model: {
          primary: "local/m",
          providers: [
            {
              name: "local",
              baseUrl: "http://llm:8000/v1",
              api: "openai-completions",
              models: [{ id: "m", name: "" }],
            },
          ],
        },
      },
    });
    const config = renderOpenClawConfig({ agentName: "a", spec: agent.spec });
    expect((config.models as { providers: { local: { models: unknown[] } } }).providers.local.models).toEqual([
      { id: "m", name: "m", compat: { supportsUsageInStreaming: true } },
    ]);
    expect(validateOpenClawConfig(config)).toEqual({ ok: true });
  });
});

describe("fuzz regressions of teams", () => {
  it("a federated team of 16 full groups (1,041 agents) has a status the CRD accepts", () => {
    const groups = Array.from({ length: 16 }, (_, g) => ({
      name: `g${g}`,
      lead: `lead-${g}`,
      members: Array.from({ length: 64 }, (_, m) => `agent-${g}-${m}`),
    }));
    const team = AgentTeam.parse({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "AgentTeam",
      metadata: { name: "world", namespace: "ns", generation: 1 },
      spec: { pattern: "federated", lead: "ceo", groups },
    });
    const agents = teamAgents(team);
    expect(agents).toHaveLength(MAX_TEAM_AGENTS);
    const members = agents.map((agent) => ({ agent, found: true, ready: true, readyReplicas: 1, desiredReplicas: 1 }));
    const status = teamStatus(undefined, { generation: 1, members });
    expect(status.members).toHaveLength(1041);
    expect(AgentTeamStatus.safeParse(status).success).toBe(true);
  });
});

describe("fuzz regressions of the delegation endpoint", () => {
  it("a request target of // is a 400, not a 500", async () => {
    const server = createDelegationServer(
      {
        authenticate: () => ({ namespace: "ns", agent: "ceo" }),
        delegate: async () => ({ delegation: "d", phase: "Pending" }),
        get: async () => ({ delegation: "d", phase: "Pending" }),
        cancel: async () => {},
        listTeam: async () => ({}),
      },
      pino({ level: "silent" }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({
          host: "127.0.0.1",
          port,
          path: "//",
          method: "PATCH",
          headers: { authorization: "Bearer t" },
        });
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
      expect(status).toBe(400);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
