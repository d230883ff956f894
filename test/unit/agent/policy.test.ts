import { describe, expect, it } from "vitest";
import {
  type AgentPolicy,
  checkAgentPolicy,
  checkReadable,
  DEFAULT_AGENT_POLICY,
  matchesPattern,
  PolicyViolationError,
} from "../../../src/agent/policy.ts";
import type { Agent } from "../../../src/api/agent.ts";
import { AGENT_KIND } from "../../../src/api/registry.ts";

const agent = (spec: Record<string, unknown>): Agent =>
  AGENT_KIND.parse({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name: "a", namespace: "ns", uid: "u" },
    spec: { soul: "# a", model: { primary: "openai/gpt-5" }, ...spec },
  });

const refusal = (spec: Record<string, unknown>, policy: AgentPolicy = DEFAULT_AGENT_POLICY) => {
  try {
    checkAgentPolicy(agent(spec), policy);
  } catch (error) {
    if (error instanceof PolicyViolationError) return `${error.reason}: ${error.message}`;
    throw error;
  }
  return undefined;
};

describe("matchesPattern", () => {
  it("treats * as any run of characters and everything else literally", () => {
    expect(matchesPattern("registry.example.com/team/x:1", ["registry.example.com/team/*"])).toBe(true);
    expect(matchesPattern("registry.example.com/team/x:1", ["registry.example.com/other/*"])).toBe(false);
    // A dot is a dot, not any character.
    expect(matchesPattern("registryXexample.com/team/x", ["registry.example.com/*"])).toBe(false);
    expect(matchesPattern("registry.example.com.evil/x", ["registry.example.com/*"])).toBe(false);
    expect(matchesPattern("anything", [])).toBe(false);
  });
});

describe("checkAgentPolicy", () => {
  it("allows by default the default image, OpenClaw's by tag or digest, and open scheduling fields", () => {
    expect(refusal({})).toBeUndefined();
    expect(refusal({ image: "ghcr.io/openclaw/openclaw:2026.1.1" })).toBeUndefined();
    expect(refusal({ image: `ghcr.io/openclaw/openclaw@sha256:${"a".repeat(64)}` })).toBeUndefined();
    expect(
      refusal({ podTemplate: { tolerations: [{ operator: "Exists" }], nodeSelector: { a: "b" }, affinity: {} } }),
    ).toBeUndefined();
  });

  it("refuses by default other images and any priorityClassName, naming the field", () => {
    expect(refusal({ image: "ghcr.io/openclaw/openclaw-fork:1" })).toMatch(
      /^ImageNotAllowed: spec.image ghcr.io\/openclaw\/openclaw-fork:1 matches none/,
    );
    expect(refusal({ podTemplate: { priorityClassName: "high" } })).toMatch(
      /^PodTemplateNotAllowed: spec.podTemplate.priorityClassName high .*: none\)/,
    );
  });

  it("allows what the flags add and refuses the rest", () => {
    const policy: AgentPolicy = {
      allowedImages: ["registry.example.com/*"],
      requireReadableLabel: true,
      allowedTolerationKeys: ["dedicated"],
      allowedNodeSelectorKeys: ["pool"],
      allowAffinity: false,
      allowedPriorityClasses: ["agents"],
    };
    expect(
      refusal(
        {
          image: "registry.example.com/claw:1",
          podTemplate: {
            tolerations: [{ key: "dedicated", operator: "Exists" }],
            nodeSelector: { pool: "x" },
            priorityClassName: "agents",
          },
        },
        policy,
      ),
    ).toBeUndefined();
    expect(refusal({ podTemplate: { tolerations: [{ operator: "Exists" }] } }, policy)).toContain(
      "spec.podTemplate.tolerations[0] tolerates every taint",
    );
    expect(refusal({ podTemplate: { nodeSelector: { zone: "a" } } }, policy)).toContain(
      "spec.podTemplate.nodeSelector[zone]",
    );
    expect(refusal({ podTemplate: { affinity: {} } }, policy)).toContain("spec.podTemplate.affinity");
  });
});

describe("checkReadable", () => {
  const required = { ...DEFAULT_AGENT_POLICY, requireReadableLabel: true };
  it("asks for the label only when the policy requires it, and then exactly true", () => {
    expect(() => checkReadable({}, "Secret s", DEFAULT_AGENT_POLICY)).not.toThrow();
    expect(() =>
      checkReadable({ metadata: { labels: { "clawcrew.io/agent-readable": "true" } } }, "Secret s", required),
    ).not.toThrow();
    expect(() =>
      checkReadable({ metadata: { labels: { "clawcrew.io/agent-readable": "yes" } } }, "Secret s", required),
    ).toThrow(/Secret s lacks the label clawcrew.io\/agent-readable=true/);
  });
});
