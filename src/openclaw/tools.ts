/**
 * OpenClaw's per-agent tool policy (`agents.entries.<id>.tools`): which of the gateway's tools the model
 * is offered and may call. Names and groups as the pinned release defines them (docs:
 * gateway/config-tools/tool-policy.md; code: dist/tool-catalog-*.mjs).
 */

/** `tools.profile`: the base allow-list that allow and alsoAllow extend. */
export const TOOL_PROFILES = ["minimal", "coding", "messaging", "full"] as const;
export type ToolProfile = (typeof TOOL_PROFILES)[number];

/** The groups an allow or deny entry may name; any other `group:` entry would silently match nothing. */
export const TOOL_GROUPS = [
  "group:fs",
  "group:runtime",
  "group:web",
  "group:memory",
  "group:sessions",
  "group:ui",
  "group:messaging",
  "group:automation",
  "group:nodes",
  "group:agents",
  "group:media",
  "group:openclaw",
  "group:plugins",
] as const;

/**
 * A tool name (`exec`, `web_search`), a plugin id (`bundle-mcp`), an MCP tool (`<server>__<tool>`), a
 * `*` glob of those, or one of TOOL_GROUPS. OpenClaw folds case.
 */
export const TOOL_ENTRY = new RegExp(`^(${TOOL_GROUPS.join("|")}|[A-Za-z0-9_.*-]+)$`);

export interface ToolPolicy {
  profile?: ToolProfile | undefined;
  allow?: readonly string[] | undefined;
  alsoAllow?: readonly string[] | undefined;
  deny?: readonly string[] | undefined;
}

/**
 * The agent's `tools` entry. A restricting policy (an allow-list or a profile) keeps the tools of the MCP
 * servers the operator configures (`<server>__*`): a lead without its delegation tool could not delegate.
 * A deny-list is rendered as written, since deny wins over every allow in OpenClaw.
 */
export function renderToolPolicy(policy: ToolPolicy, operatorMcpServers: readonly string[]): Record<string, unknown> {
  const keep = operatorMcpServers.map((server) => `${server}__*`);
  const out: Record<string, unknown> = {};
  if (policy.profile) out.profile = policy.profile;
  if (policy.allow) out.allow = union(policy.allow, keep);
  else if (policy.alsoAllow || (policy.profile && keep.length > 0)) out.alsoAllow = union(policy.alsoAllow ?? [], keep);
  if (policy.deny) out.deny = [...policy.deny];
  return out;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
