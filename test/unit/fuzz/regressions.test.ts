// Cases the fuzz tests found, each kept as a plain test named after it.
import { describe, expect, it } from "vitest";
import { Agent } from "../../../src/api/agent.ts";
import { renderOpenClawConfig } from "../../../src/openclaw/config.ts";
import { validateOpenClawConfig } from "../../../src/openclaw/schema.ts";

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
            { name: "local", baseUrl: "http://llm:8000/v1", api: "openai-completions", models: [{ id: "m", name: "" }] },
          ],
        },
      },
    });
    const config = renderOpenClawConfig({ agentName: "a", spec: agent.spec });
    expect((config.models as { providers: { local: { models: unknown[] } } }).providers.local.models).toEqual([
      { id: "m", name: "m" },
    ]);
    expect(validateOpenClawConfig(config)).toEqual({ ok: true });
  });
});
