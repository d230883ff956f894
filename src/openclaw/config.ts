/**
 * Renders openclaw.json for one agent gateway. Secrets are never inline: the file only holds
 * `${ENV}` references, resolved by OpenClaw from the pod's environment.
 */
import { type AgentSpec, MAX_PERSONA_BYTES } from "../api/agent.ts";
import { GATEWAY_TOKEN_ENV, OPERATOR_TOKEN_ENVS, TMP_DIR, WORKSPACE_DIR } from "./pod-layout.ts";
import { renderToolPolicy } from "./tools.ts";
import { GATEWAY_PORT } from "./version.ts";

/** An MCP server the agent's model may call (the lead's delegation endpoint). */
export interface McpServer {
  url: string;
  /** Env var holding the bearer token the gateway sends to the server. */
  tokenEnv: string;
}

export interface RenderInput {
  agentName: string;
  spec: AgentSpec;
  mcpServers?: Record<string, McpServer> | undefined;
  /** Room for operator text appended to AGENTS.md (a lead's team section), on top of MAX_PERSONA_BYTES. */
  bootstrapExtraChars?: number | undefined;
  /** Keys of spec.credentials' Secret: the only env vars spec.config may reference with `${...}`. */
  credentialKeys?: readonly string[] | undefined;
}

/** spec.config tries to set a key the operator owns, or is not a plain JSON object. */
export class ConfigOverlayError extends Error {
  override name = "ConfigOverlayError";
  /** The offending key, such as `spec.config.gateway.auth`. */
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.path = path;
  }
}

/** An input OpenClaw cannot express, such as an env var name `${...}` cannot reference. */
export class ConfigInputError extends Error {
  override name = "ConfigInputError";
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.field = field;
  }
}

/** OpenClaw's grammar for env names in SecretRefs; `${...}` substitution matches only upper case too. */
const ENV_NAME = /^[A-Z][A-Z0-9_]{0,127}$/;
const AGENT_ID = /^[a-z0-9_][a-z0-9_-]{0,63}$/;
const LOG_FILE_BYTES = 10 * 1024 * 1024;

function envRef(name: string, field: string): string {
  if (!ENV_NAME.test(name))
    throw new ConfigInputError(field, `OpenClaw can only reference env vars matching ${ENV_NAME}`);
  return `\${${name}}`;
}

type Json = Record<string, unknown>;

export function renderOpenClawConfig({
  agentName,
  spec,
  mcpServers = {},
  bootstrapExtraChars = 0,
  credentialKeys = [],
}: RenderInput): Json {
  if (!AGENT_ID.test(agentName)) throw new ConfigInputError("metadata.name", `is not an OpenClaw agent id ${AGENT_ID}`);
  const timeoutSeconds = spec.timeoutSeconds;
  const providers = (spec.model.providers ?? []).map((p, i) => [
    p.name,
    {
      baseUrl: p.baseUrl,
      api: p.api,
      ...(p.apiKeyEnv && { apiKey: envRef(p.apiKeyEnv, `spec.model.providers[${i}].apiKeyEnv`) }),
      timeoutSeconds,
      // An empty name is as good as none: OpenClaw refuses "" (found by the fuzz tests).
      // OpenClaw asks a chat-completions provider for usage only at loopback or OpenAI's own endpoint;
      // asked everywhere, a turn's reply carries its tokens (status.usage; docs/metrics.md#token-usage).
      models: p.models.map((m) => ({
        ...m,
        name: m.name || m.id,
        ...(p.api === "openai-completions" && { compat: { supportsUsageInStreaming: true } }),
      })),
    },
  ]);
  const servers = Object.entries(mcpServers).map(([name, { url, tokenEnv }]) => [
    name,
    {
      url,
      transport: "streamable-http",
      headers: { Authorization: `Bearer ${envRef(tokenEnv, `MCP server ${name} token`)}` },
      requestTimeoutMs: timeoutSeconds * 1000,
    },
  ]);
  const config: Json = {
    gateway: {
      mode: "local",
      port: GATEWAY_PORT,
      bind: "lan",
      auth: { mode: "token", token: envRef(GATEWAY_TOKEN_ENV, "gateway token") },
      controlUi: { enabled: false },
      terminal: { enabled: false },
      reload: { mode: "off" },
      http: { endpoints: { chatCompletions: { enabled: true }, responses: { enabled: true } } },
    },
    update: { checkOnStart: false },
    cron: { enabled: false },
    // Skills come from spec.skills: the agent does not rewrite them in the background.
    skills: { workshop: { autonomous: { mode: "off" } } },
    models: {
      mode: "merge",
      // No background fetches from OpenClaw's hosted catalog: pods may have no egress.
      catalogRefresh: { enabled: false },
      ...(providers.length > 0 && { providers: Object.fromEntries(providers) }),
    },
    agents: {
      defaults: {
        model: {
          primary: spec.model.primary,
          ...(spec.model.fallbacks?.length && { fallbacks: spec.model.fallbacks }),
        },
        workspace: WORKSPACE_DIR,
        skipBootstrap: true,
        // SOUL.md and AGENTS.md in full, and room for files the agent writes (MEMORY.md).
        bootstrapMaxChars: MAX_PERSONA_BYTES + bootstrapExtraChars,
        bootstrapTotalMaxChars: 3 * MAX_PERSONA_BYTES,
        timeoutSeconds,
        maxConcurrent: spec.maxConcurrentTasks,
        heartbeat: { every: "0m" },
      },
      entries: {
        [agentName]: {
          name: agentName,
          ...(spec.tools && { tools: renderToolPolicy(spec.tools, Object.keys(mcpServers)) }),
        },
      },
    },
    ...(servers.length > 0 && { mcp: { servers: Object.fromEntries(servers) } }),
    logging: {
      level: "info",
      consoleLevel: "info",
      consoleStyle: "json",
      file: `${TMP_DIR}/openclaw/openclaw.log`,
      maxFileBytes: LOG_FILE_BYTES,
    },
  };
  const overlay = spec.config ?? {};
  checkOverlay(overlay, ownedPaths(agentName, Object.keys(mcpServers)), []);
  checkOverlaySecrets(overlay, new Set(credentialKeys), ["spec.config"]);
  return canonical(merge(config, overlay)) as Json;
}

/** A key, or a test on keys. */
type Segment = string | ((key: string) => boolean);

interface Owned {
  path: Segment[];
  reason: string;
}

/** Keys of openclaw.json that spec.config may not set: the pod, the Service and delegation rely on them. */
function ownedPaths(agentId: string, mcpServers: string[]): Owned[] {
  const network = "the pod's Service and probes rely on it";
  const layout = "the pod layout fixes it";
  const oneAgent = "an Agent runs exactly one OpenClaw agent";
  return [
    { path: ["gateway", "mode"], reason: network },
    { path: ["gateway", "port"], reason: network },
    { path: ["gateway", "bind"], reason: network },
    { path: ["gateway", "customBindHost"], reason: network },
    { path: ["gateway", "tls"], reason: network },
    { path: ["gateway", "auth"], reason: "the gateway token comes from the agent's token Secret" },
    { path: ["gateway", "http", "endpoints", "chatCompletions", "enabled"], reason: "delegations use this endpoint" },
    { path: ["agents", "ownership"], reason: oneAgent },
    { path: ["agents", "entries", (key) => key !== agentId], reason: oneAgent },
    { path: ["agents", "defaults", "workspace"], reason: layout },
    { path: ["agents", "entries", agentId, "workspace"], reason: layout },
    { path: ["agents", "entries", agentId, "agentDir"], reason: layout },
    { path: ["agents", "defaults", "model"], reason: "set spec.model instead" },
    { path: ["agents", "entries", agentId, "model"], reason: "set spec.model instead" },
    { path: ["agents", "defaults", "timeoutSeconds"], reason: "set spec.timeoutSeconds instead" },
    { path: ["agents", "defaults", "maxConcurrent"], reason: "set spec.maxConcurrentTasks instead" },
    ...["profile", "allow", "alsoAllow", "deny"].map((key) => ({
      path: ["agents", "entries", agentId, "tools", key],
      reason: "set spec.tools instead",
    })),
    ...mcpServers.map((name) => ({
      path: ["mcp", "servers", name],
      reason: "the operator configures this MCP server",
    })),
  ];
}

function matches(segment: Segment, key: string): boolean {
  return typeof segment === "string" ? segment === key : segment(key);
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function checkOverlay(value: unknown, owned: Owned[], path: string[]): void {
  const at = ["spec.config", ...path].join(".");
  for (const rule of owned) {
    if (rule.path.length === path.length && rule.path.every((s, i) => matches(s, path[i]!))) {
      throw new ConfigOverlayError(at, `the operator owns this key: ${rule.reason}`);
    }
  }
  if (!isPlainObject(value)) {
    const covered = owned.find((r) => r.path.length > path.length && path.every((k, i) => matches(r.path[i]!, k)));
    if (covered) throw new ConfigOverlayError(at, "must be an object: it contains keys the operator owns");
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (FORBIDDEN_KEYS.has(key)) throw new ConfigOverlayError(`${at}.${key}`, "this key is not allowed");
    checkOverlay(child, owned, [...path, key]);
  }
}

/** Keys whose string value is a credential, as OpenClaw's config names them (apiKey, botToken, password…). */
const SECRET_KEY = /(token|password|passwd|secret|api[-_]?key|authorization)$/i;
const ENV_REFERENCE = /\$\{([^}]*)\}/g;
const ONLY_A_REFERENCE = /^(Bearer )?\$\{[A-Z][A-Z0-9_]*\}$/;

/**
 * Secrets in spec.config go through the credentials Secret: a `${NAME}` reference must name one of its
 * keys (otherwise it could send the agent's own tokens, or any pod env, wherever the overlay points),
 * and a secret-looking key may hold only such a reference, never the value inline.
 */
function checkOverlaySecrets(value: unknown, credentialKeys: ReadonlySet<string>, path: string[]): void {
  const at = path.join(".");
  if (typeof value === "string") {
    for (const [, name] of value.matchAll(ENV_REFERENCE)) {
      // Even when the credentials Secret has such a key: the pod's env gives the operator's token instead.
      if (OPERATOR_TOKEN_ENVS.includes(name!)) {
        throw new ConfigOverlayError(
          at,
          `\${${name}} is one of the agent's own tokens; spec.config may not reference it`,
        );
      }
      if (!credentialKeys.has(name!)) {
        throw new ConfigOverlayError(
          at,
          `\${${name}} is not a key of the credentials Secret (spec.credentials.secretRef); spec.config may reference only those`,
        );
      }
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      checkOverlaySecrets(item, credentialKeys, [...path.slice(0, -1), `${path.at(-1)}[${i}]`]);
    });
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (SECRET_KEY.test(key) && typeof child === "string" && !ONLY_A_REFERENCE.test(child)) {
      throw new ConfigOverlayError(
        `${at}.${key}`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
        "looks like a secret written inline: put it in the credentials Secret (spec.credentials.secretRef) and write ${KEY}",
      );
    }
    checkOverlaySecrets(child, credentialKeys, [...path, key]);
  }
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else in the overlay (arrays, scalars, null) replaces. */
function merge(base: unknown, overlay: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overlay)) return overlay;
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(overlay)) out[key] = key in base ? merge(base[key], value) : value;
  return out;
}

/** Sorts object keys recursively so equal configs serialize, and hash, identically. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical(value[key])]),
  );
}
