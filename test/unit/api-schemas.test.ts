import { describe, expect, it } from "vitest";
import { exampleManifests } from "../../harness/index.ts";
import { Agent, AgentSpec } from "../../src/api/agent.ts";
import { Delegation, DelegationSpec } from "../../src/api/delegation.ts";
import { AgentTeam, AgentTeamSpec } from "../../src/api/team.ts";

const schemas = { Agent, AgentTeam, Delegation } as const;

const minimalAgent = { soul: "You help.", model: { primary: "openai/gpt-5" } };

function issuePaths(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }): string[] {
  return (result.error?.issues ?? []).map((i) => i.path.join("."));
}

describe("examples", () => {
  const examples = exampleManifests().filter((e) => e.manifest.apiVersion === "clawcrew.io/v1alpha1");

  it("cover every kind", () => {
    expect(new Set(examples.map((e) => e.manifest.kind))).toEqual(new Set(Object.keys(schemas)));
  });

  it.each(examples.map((e) => [`${e.file} ${e.manifest.kind}/${e.manifest.metadata.name}`, e.manifest]))(
    "%s parses",
    (_, manifest) => {
      const schema = schemas[manifest.kind as keyof typeof schemas];
      expect(schema.safeParse(manifest).error?.issues ?? []).toEqual([]);
    },
  );
});

describe("Agent spec", () => {
  it("applies defaults", () => {
    const spec = AgentSpec.parse(minimalAgent);
    expect(spec).toMatchObject({ replicas: 1, maxConcurrentTasks: 4, timeoutSeconds: 600 });
    expect(spec.image).toBeUndefined();
  });

  it("defaults scaling fields", () => {
    const spec = AgentSpec.parse({ ...minimalAgent, scaling: { maxReplicas: 5 } });
    expect(spec.scaling).toEqual({
      minReplicas: 0,
      maxReplicas: 5,
      targetPendingPerReplica: 1,
      scaleDownDelaySeconds: 300,
      mode: "Operator",
    });
  });

  it.each([
    ["negative replicas", { replicas: -1 }, "replicas"],
    ["fractional replicas", { replicas: 1.5 }, "replicas"],
    ["model without provider", { model: { primary: "gpt-5" } }, "model.primary"],
    ["model with empty name", { model: { primary: "openai/" } }, "model.primary"],
    ["model with a space", { model: { primary: "openai/gpt 5" } }, "model.primary"],
    ["timeout 0", { timeoutSeconds: 0 }, "timeoutSeconds"],
    ["timeout over a day", { timeoutSeconds: 86401 }, "timeoutSeconds"],
    ["skill name escaping its directory", { skills: [{ name: "../etc", content: "x" }] }, "skills.0.name"],
    [
      "provider with a file URL",
      {
        model: {
          primary: "p/m",
          providers: [{ name: "p", baseUrl: "file:///etc/passwd", api: "openai-completions", models: [{ id: "m" }] }],
        },
      },
      "model.providers.0.baseUrl",
    ],
    [
      "api key env with shell",
      {
        model: {
          primary: "p/m",
          providers: [
            { name: "p", baseUrl: "http://x", api: "openai-completions", apiKeyEnv: "A;rm", models: [{ id: "m" }] },
          ],
        },
      },
      "model.providers.0.apiKeyEnv",
    ],
    ["multi-line description", { description: "one\ntwo" }, "description"],
    ["unknown scaling mode", { scaling: { maxReplicas: 2, mode: "Auto" } }, "scaling.mode"],
    ["malformed quantity type", { workspace: { persistent: true, size: true } }, "workspace.size"],
    ["soul over 64 KiB", { soul: "x".repeat(64 * 1024 + 1) }, "soul"],
  ])("rejects %s", (_, patch, path) => {
    const result = AgentSpec.safeParse({ ...minimalAgent, ...patch });
    expect(result.success).toBe(false);
    expect(issuePaths(result)).toContain(path);
  });

  it("accepts model ids that contain slashes and tags", () => {
    expect(
      AgentSpec.safeParse({ ...minimalAgent, model: { primary: "openrouter/anthropic/claude-4:beta" } }).success,
    ).toBe(true);
  });
});

describe("AgentTeam spec", () => {
  it("applies delegation defaults even when the block is omitted", () => {
    const spec = AgentTeamSpec.parse({ pattern: "hubAndSpoke", lead: "ceo", members: [{ agent: "a" }] });
    expect(spec.delegation).toEqual({
      maxDepth: 3,
      defaultTimeoutSeconds: 600,
      maxAttempts: 3,
      ttlSecondsAfterFinished: 86400,
    });
    expect(spec.networkIsolation).toBe(true);
  });

  it.each([
    ["unknown pattern", { pattern: "mesh" }, "pattern"],
    ["maxDepth 0", { delegation: { maxDepth: 0 } }, "delegation.maxDepth"],
    ["maxDepth 11", { delegation: { maxDepth: 11 } }, "delegation.maxDepth"],
    ["lead with uppercase", { lead: "CEO" }, "lead"],
  ])("rejects %s", (_, patch, path) => {
    const result = AgentTeamSpec.safeParse({
      pattern: "hubAndSpoke",
      lead: "ceo",
      members: [{ agent: "a" }],
      ...patch,
    });
    expect(issuePaths(result)).toContain(path);
  });
});

describe("Delegation spec", () => {
  it.each([
    ["empty task", { task: "" }, "task"],
    ["task over 64 KiB", { task: "x".repeat(64 * 1024 + 1) }, "task"],
    ["priority out of range", { priority: 5000 }, "priority"],
    ["unknown context role", { context: [{ role: "tool", content: "x" }] }, "context.0.role"],
  ])("rejects %s", (_, patch, path) => {
    const result = DelegationSpec.safeParse({ to: "worker", task: "do it", ...patch });
    expect(issuePaths(result)).toContain(path);
  });

  it("defaults priority to 0", () => {
    expect(DelegationSpec.parse({ to: "w", task: "t" }).priority).toBe(0);
  });
});
