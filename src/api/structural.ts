import { z } from "zod";

/** A JSON Schema node as it appears in a CRD's openAPIV3Schema. */
export type JSONSchemaProps = { [key: string]: unknown };

/** Raised when a zod schema cannot be expressed as a Kubernetes structural schema. */
export class StructuralSchemaError extends Error {
  override name = "StructuralSchemaError";
  constructor(path: string, problem: string) {
    super(`${path || "<root>"}: ${problem}`);
  }
}

const DROPPED_KEYS = new Set(["$schema", "propertyNames", "id"]);
const SAFE_INT_BOUND = Number.MAX_SAFE_INTEGER;

/** Converts a zod schema to a Kubernetes structural OpenAPI v3 schema. */
export function structuralSchema(schema: z.ZodType): JSONSchemaProps {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "throw" }) as JSONSchemaProps;
  return convert(json, "");
}

function convert(node: JSONSchemaProps, path: string): JSONSchemaProps {
  if (node["x-kubernetes-int-or-string"]) {
    return pick(node, ["description", "pattern", "default"], {
      "x-kubernetes-int-or-string": true,
      anyOf: [{ type: "integer" }, { type: "string" }],
    });
  }
  if (node["x-kubernetes-preserve-unknown-fields"]) {
    return pick(node, ["description", "x-kubernetes-validations"], {
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true,
    });
  }
  if (node.anyOf || node.oneOf || node.allOf || node.not) {
    throw new StructuralSchemaError(path, "unions are not structural; use an enum or CEL rule instead");
  }
  if (Array.isArray(node.type) || typeof node.type !== "string") {
    throw new StructuralSchemaError(path, `needs exactly one type, got ${JSON.stringify(node.type)}`);
  }
  const out: JSONSchemaProps = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === "additionalProperties" && value === false) continue;
    if (key === "const") {
      out.enum = [value];
      continue;
    }
    if ((key === "minimum" && value === -SAFE_INT_BOUND) || (key === "maximum" && value === SAFE_INT_BOUND)) continue;
    out[key] = value;
  }
  if (node.properties) {
    const properties: Record<string, JSONSchemaProps> = {};
    for (const [name, child] of Object.entries(node.properties as Record<string, JSONSchemaProps>)) {
      properties[name] = convert(child, `${path}.${name}`);
    }
    out.properties = properties;
    if (Object.keys(properties).length === 0) delete out.properties;
  }
  if (node.additionalProperties && typeof node.additionalProperties === "object") {
    if (out.properties) throw new StructuralSchemaError(path, "cannot have both properties and additionalProperties");
    out.additionalProperties = convert(node.additionalProperties as JSONSchemaProps, `${path}[*]`);
  }
  if (node.items) out.items = convert(node.items as JSONSchemaProps, `${path}[]`);
  return out;
}

function pick(node: JSONSchemaProps, keys: string[], base: JSONSchemaProps): JSONSchemaProps {
  const out = { ...base };
  for (const key of keys) if (node[key] !== undefined) out[key] = node[key];
  return out;
}
