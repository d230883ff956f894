// spec.podTemplate's label, annotation, nodeSelector and taint keys are checked by the zod schema as the
// API server checks them on a pod; test/integration/admission.test.ts proves the CRD's CEL rules refuse
// the same keys at admission.
import { describe, expect, it } from "vitest";
import { AgentSpec } from "../../../src/api/agent.ts";
import { isQualifiedName } from "../../../src/api/label-maps.ts";

const minimalAgent = { soul: "You help.", model: { primary: "openai/gpt-5" } };
const longestPrefix = "p".repeat(253);
const longestName = "n".repeat(63);

const issues = (podTemplate: unknown) =>
  (AgentSpec.safeParse({ ...minimalAgent, podTemplate }).error?.issues ?? []).map(
    (i) => `${i.path.join(".")}: ${i.message}`,
  );

describe("isQualifiedName", () => {
  it.each([
    "pool",
    "a",
    "A_b-c.9",
    "example.com/pool",
    "node.kubernetes.io/instance-type",
    longestName,
    `${longestPrefix}/${longestName}`,
  ])("accepts %s", (key) => {
    expect(isQualifiedName(key)).toBe(true);
  });

  it.each([
    ["", "an empty key"],
    ["bad key!", "a space and !"],
    ["a/b/c", "two slashes"],
    ["/pool", "an empty prefix"],
    ["example.com/", "an empty name"],
    ["-pool", "a name beginning with -"],
    ["pool.", "a name ending with ."],
    [`n${longestName}`, "a 64-character name"],
    [`example.com/n${longestName}`, "a 64-character name after a prefix"],
    ["Example.com/pool", "an upper-case prefix"],
    ["example_com/pool", "a prefix with _"],
    ["example..com/pool", "a prefix with an empty label"],
    [`p${longestPrefix}/pool`, "a 254-character prefix"],
  ])("refuses %j (%s)", (key) => {
    expect(isQualifiedName(key)).toBe(false);
  });
});

describe("spec.podTemplate", () => {
  it("accepts keys and values at the edges of the syntax", () => {
    const longest = `${longestPrefix}/${longestName}`;
    expect(
      issues({
        metadata: { labels: { [longest]: "v".repeat(63), tier: "" }, annotations: { [longest]: "any text at all" } },
        nodeSelector: { "node.kubernetes.io/instance-type": "m5.large" },
        tolerations: [{ operator: "Exists" }, { key: "", operator: "Exists" }, { key: longest }],
      }),
    ).toEqual([]);
  });

  it.each([
    [
      "a label key",
      { metadata: { labels: { "bad key!": "x" } } },
      "metadata.labels.bad key!: spec.podTemplate.metadata.labels keys must be qualified names: a name of at most 63 letters",
    ],
    [
      "a label value",
      { metadata: { labels: { team: "not a value!" } } },
      "metadata.labels.team: spec.podTemplate.metadata.labels values must be empty or at most 63 letters",
    ],
    [
      "an annotation key",
      { metadata: { annotations: { "a/b/c": "x" } } },
      "metadata.annotations.a/b/c: spec.podTemplate.metadata.annotations keys must be qualified names",
    ],
    [
      "a nodeSelector key",
      { nodeSelector: { "Example.com/pool": "x" } },
      "nodeSelector.Example.com/pool: spec.podTemplate.nodeSelector keys must be qualified names",
    ],
    [
      "a nodeSelector value",
      { nodeSelector: { pool: "a/b" } },
      "nodeSelector.pool: spec.podTemplate.nodeSelector values must be empty",
    ],
    [
      "a toleration key",
      { tolerations: [{ key: "bad key!", operator: "Exists" }] },
      "tolerations.0.key: spec.podTemplate.tolerations[].key must be empty or a qualified name",
    ],
  ])("refuses %s, naming the field and the syntax", (_, podTemplate, expected) => {
    const found = issues(podTemplate);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`podTemplate.${expected}`);
  });
});
