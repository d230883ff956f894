import { describe, expect, it } from "vitest";
import { AgentSpec } from "../../../src/api/agent.ts";
import { ConfigOverlayError, renderOpenClawConfig } from "../../../src/openclaw/config.ts";
import { validateOpenClawConfig } from "../../../src/openclaw/schema.ts";
import { renderToolPolicy } from "../../../src/openclaw/tools.ts";

const base = { soul: "You research.", model: { primary: "openai/gpt-5.4-mini" } };
const spec = (fields: Record<string, unknown>) => AgentSpec.parse({ ...base, ...fields });
const delegation = { clawcrew: { url: "http://operator:8443/mcp/ns/lead", tokenEnv: "CLAWCREW_DELEGATION_TOKEN" } };

type Entries = { agents: { entries: Record<string, { name: string; tools?: unknown }> } };
const entry = (config: Record<string, unknown>, agent: string) => (config as Entries).agents.entries[agent];

describe("spec.tools in openclaw.json", () => {
  it("renders the policy into the agent's own entry, in OpenClaw's keys", () => {
    const config = renderOpenClawConfig({
      agentName: "researcher",
      spec: spec({ tools: { profile: "coding", alsoAllow: ["web_search"], deny: ["group:runtime", "write"] } }),
    });
    expect(entry(config, "researcher")).toEqual({
      name: "researcher",
      tools: { profile: "coding", alsoAllow: ["web_search"], deny: ["group:runtime", "write"] },
    });
    expect(config).not.toHaveProperty("tools"); // nothing global: other agents' gateways are not affected
    expect(validateOpenClawConfig(config)).toEqual({ ok: true });
  });

  it("renders no tools key without spec.tools", () => {
    expect(entry(renderOpenClawConfig({ agentName: "coder", spec: spec({}) }), "coder")).toEqual({ name: "coder" });
  });

  it("keeps a lead's delegation tools under an allow-list or a profile", () => {
    expect(renderToolPolicy({ allow: ["group:web", "read"] }, ["clawcrew"])).toEqual({
      allow: ["group:web", "read", "clawcrew__*"],
    });
    expect(renderToolPolicy({ profile: "minimal" }, ["clawcrew"])).toEqual({
      profile: "minimal",
      alsoAllow: ["clawcrew__*"],
    });
    expect(renderToolPolicy({ profile: "minimal", alsoAllow: ["clawcrew__*"] }, ["clawcrew"])).toEqual({
      profile: "minimal",
      alsoAllow: ["clawcrew__*"],
    });
    // A deny-list alone restricts nothing else, and is rendered as written, even when it names the server.
    expect(renderToolPolicy({ deny: ["exec", "clawcrew__delegate"] }, ["clawcrew"])).toEqual({
      deny: ["exec", "clawcrew__delegate"],
    });
    // Without operator MCP servers nothing is added.
    expect(renderToolPolicy({ allow: ["read"] }, [])).toEqual({ allow: ["read"] });
    expect(renderToolPolicy({ profile: "minimal" }, [])).toEqual({ profile: "minimal" });

    const lead = renderOpenClawConfig({
      agentName: "ceo",
      spec: spec({ tools: { allow: ["web_fetch"] } }),
      mcpServers: delegation,
    });
    expect(entry(lead, "ceo")?.tools).toEqual({ allow: ["web_fetch", "clawcrew__*"] });
    expect(validateOpenClawConfig(lead)).toEqual({ ok: true });
  });

  it.each(["profile", "allow", "alsoAllow", "deny"])("refuses spec.config setting the agent's tools.%s", (key) => {
    const overlay = {
      agents: { entries: { researcher: { tools: { [key]: key === "profile" ? "full" : ["exec"] } } } },
    };
    const withOverlay = { ...spec({ tools: { deny: ["exec"] } }), config: overlay };
    expect(() => renderOpenClawConfig({ agentName: "researcher", spec: withOverlay })).toThrow(ConfigOverlayError);
    expect(() => renderOpenClawConfig({ agentName: "researcher", spec: withOverlay })).toThrow(
      `spec.config.agents.entries.researcher.tools.${key}: the operator owns this key: set spec.tools instead`,
    );
  });

  it("lets spec.config set the agent's other tool settings", () => {
    const config = renderOpenClawConfig({
      agentName: "researcher",
      spec: spec({
        tools: { deny: ["exec"] },
        config: { agents: { entries: { researcher: { tools: { elevated: { enabled: false } } } } } },
      }),
    });
    expect(entry(config, "researcher")?.tools).toEqual({ deny: ["exec"], elevated: { enabled: false } });
  });
});

describe("spec.tools in the API", () => {
  it.each([
    ["tool names", { deny: ["exec", "web_search", "apply_patch"] }],
    ["groups", { allow: ["group:web", "group:memory"] }],
    ["globs, MCP tools and plugin ids", { allow: ["browser*", "outlook__send_mail", "bundle-mcp", "Web_Fetch"] }],
    ["a profile with additions", { profile: "messaging", alsoAllow: ["read"] }],
  ])("accepts %s", (_, tools) => {
    expect(AgentSpec.safeParse({ ...base, tools }).success).toBe(true);
  });

  it.each([
    ["an unknown group", { deny: ["group:shell"] }, "tools.deny.0"],
    ["a name with a space", { allow: ["web search"] }, "tools.allow.0"],
    ["an MCP tool id instead of its name", { allow: ["mcp:clawcrew:clawcrew__delegate"] }, "tools.allow.0"],
    ["an empty list", { deny: [] }, "tools.deny"],
    ["an empty name", { deny: [""] }, "tools.deny.0"],
    ["an unknown profile", { profile: "research" }, "tools.profile"],
  ])("refuses %s", (_, tools, path) => {
    const result = AgentSpec.safeParse({ ...base, tools });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toContain(path);
  });
});
