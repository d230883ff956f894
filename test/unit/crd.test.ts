import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../harness/index.ts";
import { customResourceDefinition } from "../../src/api/crd.ts";
import { AGENT, KINDS } from "../../src/api/kinds.ts";
import type { JSONSchemaProps } from "../../src/api/structural.ts";

const crds = KINDS.map((def) => ({ def, crd: customResourceDefinition(def) }));

function rootSchema(crd: ReturnType<typeof customResourceDefinition>): JSONSchemaProps {
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

/** Visits every schema node below `node` with its path. */
function walk(node: JSONSchemaProps, path: string, visit: (node: JSONSchemaProps, path: string) => void) {
  visit(node, path);
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JSONSchemaProps>)) {
    walk(child, `${path}.${name}`, visit);
  }
  if (node.items) walk(node.items as JSONSchemaProps, `${path}[]`, visit);
  if (typeof node.additionalProperties === "object")
    walk(node.additionalProperties as JSONSchemaProps, `${path}[*]`, visit);
}

/** Visits every field (each node under `properties`) below `node` with its path. */
function walkFields(node: JSONSchemaProps, path: string, visit: (field: JSONSchemaProps, path: string) => void) {
  walk(node, path, (parent, parentPath) => {
    for (const [name, child] of Object.entries((parent.properties ?? {}) as Record<string, JSONSchemaProps>)) {
      visit(child, `${parentPath}.${name}`);
    }
  });
}

/**
 * The schema node at a printer-column JSONPath such as `.status.conditions[?(@.type=="Ready")].status`
 * or `.status.attempts[-1:].number`.
 */
function resolve(root: JSONSchemaProps, jsonPath: string): JSONSchemaProps | undefined {
  let node: JSONSchemaProps | undefined = root;
  for (const part of jsonPath
    .replace(/\[\?\(.*?\)\]|\[-?\d*:-?\d*\]/g, "[]")
    .split(".")
    .filter(Boolean)) {
    const [name, index] = [part.replace("[]", ""), part.endsWith("[]")];
    if (name === "metadata") return { type: "object" };
    node = (node?.properties as Record<string, JSONSchemaProps> | undefined)?.[name];
    if (index) node = node?.items as JSONSchemaProps | undefined;
  }
  return node;
}

describe.each(crds)("$def.kind CRD", ({ crd }) => {
  const root = rootSchema(crd);

  it("matches the committed files in crds/ and the chart", () => {
    for (const dir of ["crds", "charts/clawcrew/crds"]) {
      const committed = yaml.load(readFileSync(join(repoRoot, dir, `${crd.metadata.name}.yaml`), "utf8"));
      expect(committed, `${dir} is stale: run npm run gen:crds`).toEqual(JSON.parse(JSON.stringify(crd)));
    }
  });

  it("is namespaced, in the clawcrew category, with short names and a status subresource", () => {
    expect(crd.spec.scope).toBe("Namespaced");
    expect(crd.spec.names.categories).toEqual(["clawcrew"]);
    expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
    expect(crd.spec.versions[0]!.subresources.status).toEqual({});
  });

  it("has a structural schema", () => {
    walk(root, "", (node, path) => {
      const typed = typeof node.type === "string" || node["x-kubernetes-int-or-string"] === true;
      expect(typed, `${path} has no type`).toBe(true);
      if (node.type === "object" && path !== "" && !path.endsWith(".metadata")) {
        const shaped = node.properties || node.additionalProperties || node["x-kubernetes-preserve-unknown-fields"];
        expect(shaped, `${path} is an object with no shape`).toBeTruthy();
      }
    });
  });

  it("bounds every string, list and map in spec, so CEL cost stays within budget", () => {
    walk((root.properties as Record<string, JSONSchemaProps>).spec!, "spec", (node, path) => {
      if (node.type === "string") expect(node.maxLength ?? node.enum, `${path} is an unbounded string`).toBeDefined();
      if (node.type === "array") expect(node.maxItems, `${path} is an unbounded list`).toBeDefined();
      if (node.type === "object" && node.additionalProperties) {
        expect(node.maxProperties, `${path} is an unbounded map`).toBeDefined();
      }
    });
  });

  // `kubectl explain` shows these descriptions: every field says what it does, its default and its unit.
  it("describes every field", () => {
    const undescribed: string[] = [];
    walkFields(root, "", (field, path) => {
      // The API server forbids a description on metadata, which kubectl explains from ObjectMeta.
      if (path === ".metadata") return;
      if (typeof field.description !== "string" || !/\S/.test(field.description)) undescribed.push(path);
    });
    expect(undescribed, "fields without a description").toEqual([]);
  });

  it("states each field's schema default in its description", () => {
    walkFields(root, "", (field, path) => {
      const value = field.default;
      if (value === undefined || typeof value === "object") return;
      expect(field.description, `${path} defaults to ${value}`).toContain(`Default ${value}`);
    });
  });

  it("states the unit of every duration in seconds", () => {
    walkFields(root, "", (field, path) => {
      if (/Seconds$/.test(path)) expect(field.description, path).toMatch(/seconds/);
    });
  });

  it("describes every printer column", () => {
    for (const column of crd.spec.versions[0]!.additionalPrinterColumns) {
      expect(column.description ?? "", column.name).toMatch(/\S/);
    }
  });

  it("gives every CEL rule a message", () => {
    walk(root, "", (node, path) => {
      for (const rule of (node["x-kubernetes-validations"] ?? []) as { message?: string }[]) {
        expect(rule.message, `rule at ${path}`).toMatch(/\S/);
      }
    });
  });

  it("has printer columns that point at fields of the schema", () => {
    for (const column of crd.spec.versions[0]!.additionalPrinterColumns) {
      expect(resolve(root, column.jsonPath), `${column.name}: ${column.jsonPath}`).toBeDefined();
    }
  });
});

it("Agent serves the scale subresource from integer replicas and a string selector", () => {
  const crd = customResourceDefinition(AGENT);
  const root = rootSchema(crd);
  expect(crd.spec.versions[0]!.subresources.scale).toEqual({
    specReplicasPath: ".spec.replicas",
    statusReplicasPath: ".status.replicas",
    labelSelectorPath: ".status.selector",
  });
  expect(resolve(root, ".spec.replicas")?.type).toBe("integer");
  expect(resolve(root, ".status.replicas")?.type).toBe("integer");
  expect(resolve(root, ".status.selector")?.type).toBe("string");
});

it("short names do not collide across kinds", () => {
  const names = crds.flatMap(({ crd }) => [
    crd.spec.names.plural,
    crd.spec.names.singular,
    ...crd.spec.names.shortNames,
  ]);
  expect(new Set(names).size).toBe(names.length);
});
