/**
 * OpenClaw's JSON Schema for openclaw.json, as `openclaw config schema` of the pinned version prints it
 * (regenerate with `node hack/regenerate-openclaw-schema.ts`), so the operator can reject a config
 * OpenClaw would refuse without running OpenClaw.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { type OutputUnit, Validator } from "@cfworker/json-schema";
import { CONFIG_SCHEMA_FILE } from "./version.ts";

export type ValidationResult = { ok: true } | { ok: false; problems: string[] };

type Json = Record<string, unknown>;

/** The compiled schema (several MiB) is dropped after this long without a config it has not seen. */
export const SCHEMA_IDLE_MS = 60_000;
/** Results are remembered by the config's content: most reconciles render the config they rendered before. */
const REMEMBERED_RESULTS = 256;

let loaded: { schema: Json; validator: Validator } | undefined;
let unloadTimer: NodeJS.Timeout | undefined;
const remembered = new Map<string, ValidationResult>();

function load(): { schema: Json; validator: Validator } {
  clearTimeout(unloadTimer);
  unloadTimer = setTimeout(() => {
    loaded = undefined;
  }, SCHEMA_IDLE_MS).unref();
  if (!loaded) {
    const schema = JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, "utf8")) as Json;
    prepare(schema);
    loaded = { schema, validator: new Validator(schema, "7", false) };
  }
  return loaded;
}

/** Whether the compiled schema is in memory now. */
export function schemaLoaded(): boolean {
  return loaded !== undefined;
}

/**
 * Adapts the printed schema for validating what a user writes:
 * - Channel and plugin config schemas are embedded whole (`$schema`, `$defs`) and refer to their own
 *   definitions as `#/$defs/...`. An `$id` makes each one a resource of its own, so those refs resolve.
 * - The schema describes the parsed config, where fields with a default are always present: a
 *   written config may leave them out, so they are not required.
 */
function prepare(schema: Json): void {
  let n = 0;
  const visit = (node: unknown, root: boolean): void => {
    if (typeof node !== "object" || node === null) return;
    const record = node as Json;
    const properties = (isObject(record.properties) ? record.properties : {}) as Record<string, unknown>;
    const document = typeof record.$schema === "string" || isObject(record.$defs);
    if (!root && document && record.$id === undefined) record.$id = `urn:clawcrew:openclaw-schema:${n++}`;
    if (Array.isArray(record.required)) {
      record.required = record.required.filter((key) => !(isObject(properties[key]) && "default" in properties[key]));
    }
    for (const child of Object.values(record)) visit(child, false);
  };
  visit(schema, true);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates a whole openclaw.json; problems name the JSON path, such as `gateway.port: must be integer`. */
export function validateOpenClawConfig(config: unknown): ValidationResult {
  const key = createHash("sha256").update(JSON.stringify(config)).digest("base64");
  const known = remembered.get(key);
  if (known) {
    remembered.delete(key); // most recently used last
    remembered.set(key, known);
    return known;
  }
  const { schema, validator } = load();
  const result = validator.validate(config);
  const outcome: ValidationResult = result.valid
    ? { ok: true }
    : { ok: false, problems: describe(result.errors, schema, config) };
  remembered.set(key, outcome);
  if (remembered.size > REMEMBERED_RESULTS) remembered.delete(remembered.keys().next().value!);
  return outcome;
}

const BRANCHING = new Set(["anyOf", "oneOf"]);
const STRUCTURAL = new Set([
  "properties",
  "additionalProperties",
  "items",
  "additionalItems",
  "allOf",
  "$ref",
  "if",
  "then",
  "else",
]);

interface Problem {
  error: OutputUnit;
  /** Path of the offending value. */
  segments: string[];
  message?: string;
}

function describe(errors: OutputUnit[], schema: Json, config: unknown): string[] {
  let problems: Problem[] = [];
  for (const error of errors) {
    const segments = pointerSegments(error.instanceLocation);
    if (error.keyword === "false") {
      // A key matched `additionalProperties: false`.
      problems.push({ error, segments, message: "unknown key" });
    } else if (error.keyword === "required") {
      const key = /"(.*)"/.exec(error.error)?.[1] ?? "?";
      problems.push({ error, segments, message: `missing required key ${JSON.stringify(key)}` });
    } else if (!STRUCTURAL.has(error.keyword) && !BRANCHING.has(error.keyword)) {
      problems.push({ error, segments });
    }
  }
  // An unmatched anyOf/oneOf: keep what the branches that got below the value say; if none did,
  // say once what the value may be.
  for (const branching of errors.filter((e) => BRANCHING.has(e.keyword))) {
    const at = pointerSegments(branching.instanceLocation).length;
    const inBranch = problems.filter((p) => p.error.keywordLocation.startsWith(`${branching.keywordLocation}/`));
    const deeper = inBranch.filter((p) => p.segments.length > at);
    problems = problems.filter((p) => !inBranch.includes(p) || deeper.includes(p));
    if (inBranch.length > 0 && deeper.length === 0) {
      const options = inBranch.map((p) => expectation(p.error, schema)).filter((o, i, all) => all.indexOf(o) === i);
      problems.push({
        error: branching,
        segments: pointerSegments(branching.instanceLocation),
        message: `must be ${options.join(" or ")}`,
      });
    }
  }
  const lines = problems.map(
    (p) => `${jsonPath(p.segments, config)}: ${p.message ?? `must be ${expectation(p.error, schema)}`}`,
  );
  if (lines.length === 0)
    lines.push(...errors.map((e) => `${jsonPath(pointerSegments(e.instanceLocation), config)}: ${e.error}`));
  return lines.filter((line, i) => lines.indexOf(line) === i);
}

/** What a failed keyword asked for, from the schema itself. */
function expectation(e: OutputUnit, schema: Json): string {
  const value = resolve(schema, e.keywordLocation);
  if (value === undefined) return `valid (${e.error})`; // a location behind a $ref
  switch (e.keyword) {
    case "type":
      return Array.isArray(value) ? value.join(" or ") : String(value);
    case "const":
      return JSON.stringify(value);
    case "enum":
      return `one of ${(value as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "pattern":
      return `a string matching /${String(value)}/`;
    case "format":
      return `a valid ${String(value)}`;
    case "minimum":
      return `>= ${String(value)}`;
    case "exclusiveMinimum":
      return `> ${String(value)}`;
    case "maximum":
      return `<= ${String(value)}`;
    case "minLength":
    case "maxLength":
    case "minItems":
    case "maxItems":
    case "minProperties":
    case "maxProperties":
      return `${e.keyword.startsWith("min") ? "at least" : "at most"} ${String(value)} ${lengthUnit(e.keyword)}`;
    case "required":
      return `an object with ${/"(.*)"/.exec(e.error)?.[1] ?? "its required keys"}`;
    default:
      return `valid (${e.error})`;
  }
}

function lengthUnit(keyword: string): string {
  return keyword.endsWith("Length") ? "characters" : keyword.endsWith("Items") ? "items" : "keys";
}

function pointerSegments(location: string): string[] {
  const pointer = location.replace(/^#/, "");
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => decodeURIComponent(s).replaceAll("~1", "/").replaceAll("~0", "~"));
}

function resolve(root: unknown, location: string): unknown {
  let node = root;
  for (const segment of pointerSegments(location)) node = (node as Json | undefined)?.[segment];
  return node;
}

/** `agents.defaults.model.fallbacks[0]`; keys that are not identifiers are quoted: `models["a/b.c"]`. */
function jsonPath(segments: string[], config: unknown): string {
  let path = "";
  let node = config;
  for (const segment of segments) {
    if (Array.isArray(node)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) path += path ? `.${segment}` : segment;
    else path += `[${JSON.stringify(segment)}]`;
    node = (node as Json | undefined)?.[segment];
  }
  return path || "(root)";
}
