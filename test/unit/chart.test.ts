// The chart's values.schema.json covers every value and refuses wrong ones; its README's values table
// is the one hack/gen-chart-docs.ts generates. test/integration/chart.test.ts runs helm itself.
import { type Schema, Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { readChart, type SchemaNode, valuesTable, withTable } from "../../hack/chart-docs.ts";

const { schema, values, readme } = readChart();
const validator = new Validator(schema as Schema, "7", false);

/** The default values with `path` set to `value`. */
function withValue(path: string, value: unknown): unknown {
  const copy = structuredClone(values) as Record<string, unknown>;
  const keys = path.split(".");
  let at = copy;
  for (const key of keys.slice(0, -1)) {
    at[key] ??= {};
    at = at[key] as Record<string, unknown>;
  }
  at[keys.at(-1)!] = value;
  return copy;
}

/** Every property of the schema, with its dotted path. */
function properties(node: SchemaNode, path = ""): [string, SchemaNode][] {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]) => {
    const at = path ? `${path}.${key}` : key;
    return [[at, child] as [string, SchemaNode], ...properties(child, at)];
  });
}

describe("values.schema.json", () => {
  it("accepts the default values", () => {
    const result = validator.validate(values);
    expect(result.errors).toEqual([]);
  });

  it("names and describes every value in values.yaml", () => {
    const described = new Map(properties(schema));
    const visit = (value: unknown, path: string) => {
      const node = described.get(path);
      expect(node, `${path} is not in values.schema.json`).toBeDefined();
      // Below a schema node without properties (a map or free-form object) the keys are the user's.
      if (node?.properties && value && typeof value === "object" && !Array.isArray(value)) {
        for (const [key, child] of Object.entries(value)) visit(child, `${path}.${key}`);
      }
    };
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) visit(value, key);
    for (const [path, node] of described) expect(node.description, `${path} has no description`).toMatch(/\S/);
  });

  it.each([
    ["replicaCount", "2", "/replicaCount"],
    ["replicas", 2, "replicas"],
    ["image.pullPolicy", "Sometimes", "/image/pullPolicy"],
    ["image.registry", "ghcr.io", "registry"],
    ["podDisruptionBudget.minAvailable", "half", "/podDisruptionBudget/minAvailable"],
    ["leaderElection.leaseDurationSeconds", 1, "/leaderElection/leaseDurationSeconds"],
    ["watchNamespaces", ["Team_A"], "/watchNamespaces/0"],
    ["watchNamespaces", "team-a", "/watchNamespaces"],
    ["logLevel", "verbose", "/logLevel"],
    ["metrics.serviceMonitor.interval", "30 seconds", "/metrics/serviceMonitor/interval"],
    ["delegation.limits.burst", 2.5, "/delegation/limits/burst"],
    ["agentEgress", "{}", "/agentEgress"],
    ["tracing.otlpEndpoint", "otel-collector:4318", "/tracing/otlpEndpoint"],
    ["tracing.samplerArg", "half", "/tracing/samplerArg"],
    ["tracing.extraEnv", [{ name: "LOG_LEVEL", value: "debug" }], "/tracing/extraEnv/0/name"],
    ["resources.limits.memory", "lots", "/resources/limits/memory"],
    ["podLabels.team", 7, "/podLabels/team"],
    ["tolerations", {}, "/tolerations"],
  ])("refuses %s = %j, naming it", (path, value, named) => {
    const result = validator.validate(withValue(path, value));
    expect(result.valid).toBe(false);
    expect(result.errors.map((e) => `${e.instanceLocation} ${e.error}`).join("\n")).toContain(named);
  });

  it("accepts a percentage for podDisruptionBudget.minAvailable and a JSON list for agentEgress", () => {
    expect(validator.validate(withValue("podDisruptionBudget.minAvailable", "50%")).errors).toEqual([]);
    expect(validator.validate(withValue("agentEgress", '[{"ports":[{"port":443}]}]')).errors).toEqual([]);
  });
});

describe("the chart's README", () => {
  it("has the values table generated from values.schema.json and values.yaml (npm run gen:chart-docs)", () => {
    expect(readme).toBe(withTable(readme, valuesTable(schema, values)));
  });

  it("lists every value with its default", () => {
    const table = valuesTable(schema, values);
    expect(table).toContain("| `replicaCount` | integer | `2` |");
    expect(table).toContain('| `image.pullPolicy` | "Always" \\| "IfNotPresent" \\| "Never" | `"IfNotPresent"` |');
    for (const [path] of properties(schema)) expect(table).toContain(`| \`${path}\` |`);
  });
});
