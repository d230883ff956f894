/**
 * Rendered openclaw.json files checked by the pinned OpenClaw's own validator (`openclaw config validate`),
 * and by validateOpenClawConfig, which must agree with it. OpenClaw runs in an empty network namespace.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleManifests } from "../../harness/index.ts";
import { AgentSpec } from "../../src/api/agent.ts";
import {
  ConfigInputError,
  ConfigOverlayError,
  type McpServer,
  renderOpenClawConfig,
} from "../../src/openclaw/config.ts";
import { configVolumeFiles, GATEWAY_TOKEN_ENV } from "../../src/openclaw/pod-layout.ts";
import { validateOpenClawConfig } from "../../src/openclaw/schema.ts";
import { renderWorkspaceFiles } from "../../src/openclaw/workspace.ts";
import { openclawEntry } from "./openclaw.ts";

const run = promisify(execFile);

/** Values the `${...}` references resolve to while OpenClaw validates; none may appear in a rendered file. */
const SECRETS: Record<string, string> = {
  [GATEWAY_TOKEN_ENV]: "gateway-token-6d1f0c",
  VLLM_API_KEY: "sk-vllm-9a8b7c",
  PROXY_KEY: "sk-proxy-1e2d3c",
  LEAD_DELEGATION_TOKEN: "delegation-token-4f5e6d",
  TELEGRAM_BOT_TOKEN: "telegram-token-8c7b6a",
};

const AGENT = "researcher";
const SOUL = "You are a meticulous researcher.";

const spec = (fields: Record<string, unknown>) =>
  AgentSpec.parse({ soul: SOUL, model: { primary: "openai/gpt-5.4-mini" }, ...fields });

const providers = [
  {
    name: "vllm",
    baseUrl: "http://vllm.models.svc:8000/v1",
    api: "openai-completions",
    apiKeyEnv: "VLLM_API_KEY",
    models: [{ id: "qwen3-32b", name: "Qwen3 32B", contextWindow: 131072, maxTokens: 8192 }],
  },
  {
    name: "proxy",
    baseUrl: "https://llm-proxy.example.internal/anthropic",
    api: "anthropic-messages",
    apiKeyEnv: "PROXY_KEY",
    models: [{ id: "claude-sonnet-4-5" }],
  },
  { name: "local", baseUrl: "http://ollama:11434", api: "ollama", models: [{ id: "llama3.3" }] },
];

const delegation: Record<string, McpServer> = {
  clawcrew: {
    url: "http://clawcrew-operator.clawcrew-system.svc:8443/mcp/team-a/lead",
    tokenEnv: "LEAD_DELEGATION_TOKEN",
  },
};

const cases: {
  name: string;
  spec: AgentSpec;
  mcpServers?: Record<string, McpServer>;
  credentialKeys?: string[];
}[] = [
  { name: "minimal", spec: spec({}) },
  {
    name: "fallbacks",
    spec: spec({ model: { primary: "anthropic/claude-opus-4-6", fallbacks: ["openai/gpt-5.4-mini", "xai/grok-4"] } }),
  },
  {
    name: "custom providers",
    spec: spec({
      model: { primary: "vllm/qwen3-32b", fallbacks: ["proxy/claude-sonnet-4-5", "local/llama3.3"], providers },
    }),
  },
  {
    name: "skills and instructions",
    spec: spec({
      instructions: "Cite every source.",
      skills: [{ name: "search", content: "---\nname: search\ndescription: Searches.\n---\nSearch well.\n" }],
      timeoutSeconds: 1800,
      maxConcurrentTasks: 2,
    }),
  },
  {
    name: "overlay",
    spec: spec({
      config: {
        agents: { defaults: { thinkingDefault: "low" }, entries: { [AGENT]: { description: "Finds sources." } } },
        tools: { deny: ["browser"] },
        logging: { level: "debug" },
        gateway: { controlUi: { enabled: true } },
        // Fields with defaults (dmPolicy, groupPolicy) may be left out.
        channels: { telegram: { enabled: false, botToken: "$" + "{TELEGRAM_BOT_TOKEN}" } },
      },
    }),
    credentialKeys: ["TELEGRAM_BOT_TOKEN"],
  },
  { name: "MCP servers", spec: spec({ model: { primary: "vllm/qwen3-32b", providers } }), mcpServers: delegation },
  {
    name: "tool policy: profile, additions and denials",
    spec: spec({
      tools: { profile: "minimal", alsoAllow: ["group:web", "read"], deny: ["group:runtime", "browser*"] },
    }),
    mcpServers: delegation,
  },
  {
    name: "tool policy: an allow-list on a lead",
    spec: spec({ tools: { allow: ["web_fetch", "memory_search"], deny: ["exec"] } }),
    mcpServers: delegation,
  },
  // Every example Agent, as a lead (with the delegation MCP server), soulFrom resolved.
  ...exampleManifests()
    .filter(({ manifest }) => manifest.kind === "Agent")
    .map(({ file, manifest }) => ({
      name: `example agent ${manifest.metadata.name} (${file})`,
      spec: AgentSpec.parse({ ...(manifest.spec as object), soul: SOUL, soulFrom: undefined }),
      mcpServers: delegation,
      credentialKeys: ["VLLM_API_KEY"],
    })),
];

describe("rendered openclaw.json", () => {
  let work: string;
  let n = 0;

  beforeAll(() => {
    openclawEntry();
    work = mkdtempSync(join(tmpdir(), "clawcrew-config-"));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** `openclaw config validate` on one file, with the referenced env vars set. */
  async function openclawValidate(
    config: unknown,
  ): Promise<{ valid: boolean; issues?: { path: string; message: string }[] }> {
    const file = join(work, `openclaw-${n++}.json`);
    writeFileSync(file, JSON.stringify(config, null, 2));
    const env = {
      PATH: process.env.PATH,
      HOME: work,
      OPENCLAW_STATE_DIR: join(work, "state"),
      OPENCLAW_CONFIG_PATH: file,
      OPENCLAW_CONFIG_READONLY: "1",
      ...SECRETS,
    };
    const args = ["--net", process.execPath, openclawEntry(), "config", "validate", "--json"];
    const { stdout } = await run("unshare", args, { env }).catch((error: { stdout?: string }) => ({
      stdout: error.stdout ?? "",
    }));
    return JSON.parse(stdout) as { valid: boolean; issues?: { path: string; message: string }[] };
  }

  it.each(cases)("$name: OpenClaw accepts it", async ({ spec, mcpServers, credentialKeys }) => {
    const config = renderOpenClawConfig({ agentName: AGENT, spec, mcpServers, credentialKeys });
    expect(await openclawValidate(config)).toMatchObject({ valid: true });
    expect(validateOpenClawConfig(config)).toEqual({ ok: true });
  });

  it.each(cases)("$name: secrets are env references only", ({ spec, mcpServers, credentialKeys }) => {
    const config = renderOpenClawConfig({ agentName: AGENT, spec, mcpServers, credentialKeys });
    const text = JSON.stringify(config);
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    for (const { key, value } of strings(config)) {
      if (/token|apikey|authorization|password|secret/i.test(key))
        expect(value, key).toMatch(/^(Bearer )?\$\{[A-Z][A-Z0-9_]*\}$/);
    }
  });

  it("renders what the operator owns", () => {
    const config = renderOpenClawConfig({ agentName: AGENT, spec: cases[5]!.spec, mcpServers: delegation });
    expect(config).toMatchObject({
      gateway: {
        mode: "local",
        port: 18789,
        bind: "lan",
        auth: { mode: "token", token: `\${${GATEWAY_TOKEN_ENV}}` },
        controlUi: { enabled: false },
        http: { endpoints: { chatCompletions: { enabled: true }, responses: { enabled: true } } },
      },
      update: { checkOnStart: false },
      cron: { enabled: false },
      agents: {
        defaults: {
          model: { primary: "vllm/qwen3-32b" },
          workspace: "/home/node/workspace",
          skipBootstrap: true,
          timeoutSeconds: 600,
        },
        entries: { [AGENT]: { name: AGENT } },
      },
      models: { providers: { vllm: { apiKey: `\${VLLM_API_KEY}` }, local: { baseUrl: "http://ollama:11434" } } },
      mcp: {
        servers: {
          clawcrew: {
            url: delegation.clawcrew!.url,
            transport: "streamable-http",
            headers: { Authorization: `Bearer \${LEAD_DELEGATION_TOKEN}` },
          },
        },
      },
    });
    expect((config.models as { providers: { local: object } }).providers.local).not.toHaveProperty("apiKey");
  });

  it("is deterministic: keys are sorted whatever the overlay's order", () => {
    const a = renderOpenClawConfig({
      agentName: AGENT,
      spec: spec({ config: { tools: { deny: ["browser"] }, logging: { level: "debug" } } }),
    });
    const b = renderOpenClawConfig({
      agentName: AGENT,
      spec: spec({ config: { logging: { level: "debug" }, tools: { deny: ["browser"] } } }),
    });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const keys = Object.keys(a);
    expect(keys).toEqual([...keys].sort());
  });

  it.each([
    [{ gateway: { auth: { mode: "none" } } }, "spec.config.gateway.auth"],
    [{ gateway: { port: 8080 } }, "spec.config.gateway.port"],
    [{ gateway: { bind: "loopback" } }, "spec.config.gateway.bind"],
    [
      { gateway: { http: { endpoints: { chatCompletions: { enabled: false } } } } },
      "spec.config.gateway.http.endpoints.chatCompletions.enabled",
    ],
    [{ gateway: { http: null } }, "spec.config.gateway.http"],
    [{ agents: { defaults: { workspace: "/data" } } }, "spec.config.agents.defaults.workspace"],
    [{ agents: { defaults: { model: "openai/gpt-5.4" } } }, "spec.config.agents.defaults.model"],
    [{ agents: { defaults: { timeoutSeconds: 5 } } }, "spec.config.agents.defaults.timeoutSeconds"],
    [{ agents: { entries: { other: { name: "other" } } } }, "spec.config.agents.entries.other"],
    [{ agents: { entries: { [AGENT]: { workspace: "/data" } } } }, `spec.config.agents.entries.${AGENT}.workspace`],
    [{ mcp: { servers: { clawcrew: { url: "http://evil" } } } }, "spec.config.mcp.servers.clawcrew"],
    [JSON.parse('{"models":{"__proto__":{"polluted":true}}}'), "spec.config.models.__proto__"],
  ])("refuses an overlay setting an operator-owned key: %j", (overlay, path) => {
    // As the API server's JSON arrives, without zod's parse in between.
    const withOverlay = { ...spec({}), config: overlay as Record<string, unknown> };
    const error = catchError(() =>
      renderOpenClawConfig({ agentName: AGENT, spec: withOverlay, mcpServers: delegation }),
    );
    expect(error).toBeInstanceOf(ConfigOverlayError);
    expect((error as ConfigOverlayError).path).toBe(path);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ["unknown key", { gateway: { controlUi: { bogus: true } } }, "gateway.controlUi.bogus", /unknown key/],
    [
      "wrong type",
      { agents: { defaults: { thinkingDefault: 42 } } },
      "agents.defaults.thinkingDefault",
      /must be string/,
    ],
    ["bad enum value", { logging: { level: "loud" } }, "logging.level", /must be "silent" or .*"trace"/],
  ])("a bad overlay (%s) fails OpenClaw's validator and validateOpenClawConfig", async (_, overlay, path, message) => {
    const config = renderOpenClawConfig({ agentName: AGENT, spec: spec({ config: overlay }) });
    const openclaw = await openclawValidate(config);
    expect(openclaw.valid).toBe(false);
    expect(openclaw.issues?.map((i) => `${i.path}: ${i.message}`).join("\n")).toContain(
      path.split(".").slice(0, -1).join("."),
    );
    const ours = validateOpenClawConfig(config);
    expect(ours.ok).toBe(false);
    const problem = ours.ok ? undefined : ours.problems.find((p) => p.startsWith(`${path}:`));
    expect(problem, JSON.stringify(ours)).toMatch(message);
  });

  it("refuses env var names OpenClaw cannot reference", () => {
    const lower = spec({ model: { primary: "vllm/qwen3-32b", providers } });
    lower.model.providers![0]!.apiKeyEnv = "vllm_key"; // the API refuses it too; the renderer does not rely on that
    expect(() => renderOpenClawConfig({ agentName: AGENT, spec: lower })).toThrow(ConfigInputError);
    expect(() => renderOpenClawConfig({ agentName: AGENT, spec: lower })).toThrow(
      /spec\.model\.providers\[0\]\.apiKeyEnv/,
    );
    const mcp = { clawcrew: { url: "http://lead/mcp", tokenEnv: "lower_case" } };
    expect(() => renderOpenClawConfig({ agentName: AGENT, spec: spec({}), mcpServers: mcp })).toThrow(ConfigInputError);
    expect(() => renderOpenClawConfig({ agentName: "Not.An.Id", spec: spec({}) })).toThrow(ConfigInputError);
  });

  it("lays out the config volume", () => {
    const files = configVolumeFiles({ b: 1, a: 2 }, { "SOUL.md": SOUL, "skills/search/SKILL.md": "s" });
    expect(files.map(({ key, path }) => ({ key, path }))).toEqual([
      { key: "openclaw.json", path: "openclaw.json" },
      { key: "workspace__SOUL.md", path: "workspace/SOUL.md" },
      { key: "workspace__skills__search__SKILL.md", path: "workspace/skills/search/SKILL.md" },
    ]);
    expect(files[0]?.content).toBe('{\n  "b": 1,\n  "a": 2\n}\n');
  });

  it("renders the workspace files", () => {
    expect(
      renderWorkspaceFiles({
        soul: SOUL,
        instructions: "Cite every source.",
        skills: [
          { name: "zeta", content: "z" },
          { name: "alpha", content: "a" },
        ],
      }),
    ).toEqual({
      "AGENTS.md": "Cite every source.",
      "SOUL.md": SOUL,
      "skills/alpha/SKILL.md": "a",
      "skills/zeta/SKILL.md": "z",
    });
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function strings(value: unknown, key = ""): { key: string; value: string }[] {
  if (typeof value === "string") return [{ key, value }];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => strings(v, key ? `${key}.${k}` : k));
}
