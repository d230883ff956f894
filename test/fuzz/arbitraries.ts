/**
 * fast-check generators of clawcrew objects, written by hand after the zod schemas in src/api and the
 * CEL rules of the CRDs: every `valid*` object is one admission accepts (the unit tests check each
 * against the kind's parse, so a generator that drifts from its schema fails). `invalid*` mutates a
 * valid object into one that breaks a schema field or a CEL rule, or replaces parts with random JSON.
 */
import fc from "fast-check";
import { MAX_PERSONA_BYTES, MAX_SKILL_BYTES, PROVIDER_APIS } from "../../src/api/agent.ts";
import { MAX_INPUT_BYTES, MAX_TASK_BYTES } from "../../src/api/delegation.ts";
import { TEAM_PATTERNS } from "../../src/api/team.ts";
import { TOOL_GROUPS, TOOL_PROFILES } from "../../src/openclaw/tools.ts";

export type Obj = Record<string, unknown>;

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const chars = (set: string) => fc.constantFrom(...set.split(""));

/** A name of the given form: `first`, then `middle` characters, then `last`; at most `max` long. */
function dnsLike(first: string, middle: string, last: string, max: number): fc.Arbitrary<string> {
  const long = fc
    .tuple(chars(first), fc.string({ unit: chars(middle), maxLength: max - 2 }), chars(last))
    .map(([a, b, c]) => a + b + c);
  return fc.oneof({ weight: 1, arbitrary: chars(first) }, { weight: 5, arbitrary: long });
}

/** DNS-1035 label, at most `max` characters. */
export const dns1035 = (max: number) => dnsLike(LOWER, `${LOWER}${DIGITS}-`, LOWER + DIGITS, max);
/** DNS-1123 label, at most `max` characters. */
export const dns1123 = (max = 63) => dnsLike(LOWER + DIGITS, `${LOWER}${DIGITS}-`, LOWER + DIGITS, max);
/** DNS-1123 subdomain of up to three labels. */
export const subdomain = fc
  .array(dns1123(20), { minLength: 1, maxLength: 3 })
  .map((labels) => labels.join("."))
  .filter((s) => s.length <= 253);

/**
 * Names of Agents and AgentTeams (at most 50). Mostly a small shared pool, so that teams name the
 * generated agents and lookups hit; sometimes any name, up to the limit.
 */
export const agentName = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom("ceo", "researcher", "writer", "coder", "reviewer", "a", "b0") },
    { weight: 2, arbitrary: dns1035(50) },
    { weight: 1, arbitrary: fc.constant(`a${"b".repeat(48)}c`) },
  )
  .filter((n) => n !== "default");

/** Any text, as a user writes it: mostly short, sometimes up to `maxBytes` of UTF-8. */
export function text(maxBytes: number, minLength = 0): fc.Arbitrary<string> {
  const short = fc.string({ unit: "grapheme", minLength, maxLength: 64 });
  const long = fc
    .tuple(fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: maxBytes }))
    .map(([piece, bytes]) => piece.repeat(Math.ceil(bytes / Math.max(1, Buffer.byteLength(piece)))));
  return fc
    .oneof({ weight: 20, arbitrary: short }, { weight: 1, arbitrary: long })
    .map((t) => truncateBytes(t, maxBytes))
    .filter((t) => t.length >= minLength);
}

function truncateBytes(t: string, maxBytes: number): string {
  let out = t;
  while (Buffer.byteLength(out) > maxBytes) out = [...out].slice(0, Math.floor([...out].length * 0.9)).join("");
  return out;
}

/** Text that is not blank. */
const taskText = (maxBytes: number) =>
  fc
    .tuple(fc.string({ unit: "grapheme", maxLength: 4 }), chars(LOWER), text(maxBytes))
    .map(([a, b, c]) => truncateBytes(`${a}${b}${c}`, maxBytes));

const singleLine = fc.string({ unit: "grapheme", maxLength: 200 }).map((s) => s.replace(/[\r\n]/g, " "));

const envName = fc
  .tuple(
    chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    fc.string({ unit: chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), maxLength: 20 }),
  )
  .map(([a, b]) => a + b)
  .filter((n) => n !== "OPENCLAW_GATEWAY_TOKEN" && n !== "CLAWCREW_DELEGATION_TOKEN");

const modelPart = fc
  .tuple(chars(`${LOWER}${DIGITS}ABCXYZ`), fc.string({ unit: chars(`${LOWER}${DIGITS}ABC._:@+/-`), maxLength: 40 }))
  .map(([a, b]) => a + b);
const providerPart = fc
  .tuple(chars(LOWER + DIGITS), fc.string({ unit: chars(`${LOWER}${DIGITS}._-`), maxLength: 20 }))
  .map(([a, b]) => a + b);
export const modelRef = fc.tuple(providerPart, modelPart).map(([p, m]) => `${p}/${m}`);

const baseUrl = fc
  .tuple(
    fc.constantFrom("http", "https"),
    subdomain,
    fc.option(fc.integer({ min: 1, max: 65535 })),
    fc.constantFrom("", "/v1", "/api/v1?x=1"),
  )
  .map(([scheme, host, port, path]) => `${scheme}://${host}${port === null ? "" : `:${port}`}${path}`);

const provider = fc.record(
  {
    name: dns1123(20),
    baseUrl,
    api: fc.constantFrom(...PROVIDER_APIS),
    apiKeyEnv: envName,
    models: fc.uniqueArray(
      fc.record(
        {
          id: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 40 }),
          name: fc.string({ maxLength: 40 }),
          contextWindow: fc.integer({ min: 1, max: 100_000_000 }),
          maxTokens: fc.integer({ min: 1, max: 100_000_000 }),
        },
        { requiredKeys: ["id"] },
      ),
      { minLength: 1, maxLength: 3, selector: (m) => m.id },
    ),
  },
  { requiredKeys: ["name", "baseUrl", "api", "models"] },
);

const model = fc
  .record(
    {
      primary: modelRef,
      fallbacks: fc.array(modelRef, { maxLength: 3 }),
      providers: fc.uniqueArray(provider, { maxLength: 3, selector: (p) => p.name }),
    },
    { requiredKeys: ["primary"] },
  )
  // A primary served by a custom provider, as users write it.
  .map((m) => (m.providers?.[0] ? { ...m, primary: `${m.providers[0].name}/${m.providers[0].models[0]!.id}` } : m))
  .filter((m) => /^[a-z0-9][a-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._:@+/-]*$/.test(m.primary));

const skill = fc.record({
  name: dns1123(40).filter((n) => n !== "clawcrew-delegation"),
  content: text(MAX_SKILL_BYTES, 1),
});

/** A Kubernetes label key (optional prefix) and value, as `kubectl label` accepts them. */
const labelName = dnsLike(`${LOWER}ABC${DIGITS}`, `${LOWER}ABC${DIGITS}-_.`, `${LOWER}ABC${DIGITS}`, 63);
export const labelKey = fc
  .tuple(fc.option(subdomain, { freq: 2 }), labelName)
  .map(([prefix, name]) => (prefix ? `${prefix}/${name}` : name))
  .filter((k) => k.length <= 317);
export const labelValue = fc.oneof(fc.constant(""), labelName);
const labels = fc.dictionary(labelKey, labelValue, { maxKeys: 4 });

const cpu = fc.oneof(
  fc.integer({ min: 10, max: 2000 }).map((m) => `${m}m`),
  fc.integer({ min: 1, max: 4 }),
);
/** requests <= limits once merged with the defaults (requests cpu 250m, memory 1280Mi; limits memory 2Gi). */
const resources = fc
  .record(
    {
      cpuRequest: fc.option(cpu),
      cpuExtra: fc.option(fc.integer({ min: 0, max: 2000 })),
      memoryRequestMi: fc.option(fc.integer({ min: 16, max: 2048 })),
      memoryLimitExtraMi: fc.option(fc.integer({ min: 0, max: 4096 })),
    },
    { requiredKeys: [] },
  )
  .map(({ cpuRequest, cpuExtra, memoryRequestMi, memoryLimitExtraMi }) => {
    const requests: Obj = {};
    const limits: Obj = {};
    if (cpuRequest != null) requests.cpu = cpuRequest;
    if (cpuRequest != null && cpuExtra != null) {
      const milli = typeof cpuRequest === "number" ? cpuRequest * 1000 : Number.parseInt(cpuRequest, 10);
      limits.cpu = `${milli + cpuExtra}m`;
    }
    if (memoryRequestMi != null) requests.memory = `${memoryRequestMi}Mi`;
    if (memoryLimitExtraMi != null) limits.memory = `${Math.max(memoryRequestMi ?? 1280, 1280) + memoryLimitExtraMi}Mi`;
    return { ...(Object.keys(requests).length && { requests }), ...(Object.keys(limits).length && { limits }) };
  });

const scaling = fc
  .record({
    minReplicas: fc.integer({ min: 0, max: 1000 }),
    maxReplicas: fc.integer({ min: 1, max: 1000 }),
    targetPendingPerReplica: fc.integer({ min: 1, max: 10000 }),
    scaleDownDelaySeconds: fc.integer({ min: 0, max: 86400 }),
    mode: fc.constantFrom("Operator", "External"),
  })
  .map((s) => ({ ...s, minReplicas: Math.min(s.minReplicas, s.maxReplicas) }));

const toolEntry = fc.constantFrom(
  "exec",
  "read",
  "web_search",
  "Web_Fetch",
  "browser*",
  "clawcrew__*",
  "bundle-mcp",
  ...TOOL_GROUPS,
);
const toolList = fc.uniqueArray(toolEntry, { minLength: 1, maxLength: 6 });
/** spec.tools: a profile with additions, or an allow-list; either with denials (allow and alsoAllow never both). */
const tools = fc.oneof(
  fc.record({ profile: fc.constantFrom(...TOOL_PROFILES), alsoAllow: toolList, deny: toolList }, { requiredKeys: [] }),
  fc.record({ allow: toolList, deny: toolList }, { requiredKeys: ["allow"] }),
);

/** spec.config overlays OpenClaw's schema accepts and the operator lets through. */
const configOverlay = fc.record(
  {
    logging: fc.record({ level: fc.constantFrom("silent", "fatal", "error", "warn", "info", "debug", "trace") }),
    update: fc.record({ checkOnStart: fc.boolean() }),
    agents: fc.record({
      defaults: fc.record(
        { userTimezone: fc.constantFrom("UTC", "Europe/Paris"), pdfMaxPages: fc.integer({ min: 1, max: 500 }) },
        { requiredKeys: [] },
      ),
    }),
  },
  { requiredKeys: [] },
);

const podTemplate = fc.record(
  {
    metadata: fc.record(
      { labels, annotations: fc.dictionary(labelKey, fc.string({ maxLength: 100 }), { maxKeys: 3 }) },
      { requiredKeys: [] },
    ),
    nodeSelector: labels,
    tolerations: fc.array(
      fc.record(
        {
          key: labelKey,
          operator: fc.constantFrom("Exists", "Equal"),
          value: labelValue,
          effect: fc.constantFrom("NoSchedule", "PreferNoSchedule", "NoExecute"),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
    affinity: fc.constant({}),
    priorityClassName: subdomain,
  },
  { requiredKeys: [] },
);

export const agentSpec: fc.Arbitrary<Obj> = fc
  .record(
    {
      description: singleLine,
      capabilities: fc.uniqueArray(fc.constantFrom("research", "code", "write", "review", "x"), { maxLength: 4 }),
      soul: text(MAX_PERSONA_BYTES, 1),
      soulFrom: fc.record({
        configMapKeyRef: fc.record({ name: subdomain, key: fc.constantFrom("SOUL.md", "soul", "a.b_c-d") }),
      }),
      instructions: text(MAX_PERSONA_BYTES),
      skills: fc.uniqueArray(skill, { maxLength: 4, selector: (s) => s.name }),
      model,
      tools,
      credentials: fc.record({ secretRef: fc.record({ name: subdomain }) }),
      image: fc.constantFrom("ghcr.io/openclaw/openclaw:2026.5.1", "registry.local:5000/claw@sha256:abc", "busybox"),
      replicas: fc.integer({ min: 0, max: 1000 }),
      scaling,
      maxConcurrentTasks: fc.integer({ min: 1, max: 64 }),
      timeoutSeconds: fc.integer({ min: 1, max: 86400 }),
      resources,
      workspace: fc.record(
        { persistent: fc.boolean(), size: fc.constantFrom("1Gi", "500Mi", 1073741824), storageClassName: subdomain },
        { requiredKeys: [] },
      ),
      config: configOverlay,
      podTemplate,
    },
    { requiredKeys: ["model"] },
  )
  // CEL: exactly one of soul and soulFrom.
  .chain((spec) =>
    fc.boolean().map((fromConfigMap) => {
      const { soul, soulFrom, ...rest } = spec;
      return fromConfigMap && soulFrom ? { ...rest, soulFrom } : { ...rest, soul: soul ?? "# Soul" };
    }),
  );

const objectMeta = (name: string, namespace = "fuzz") => ({
  name,
  namespace,
  uid: `${name}-uid`,
  generation: 1,
  resourceVersion: "1",
  creationTimestamp: "2026-12-02T08:00:00Z",
});

export const agentObject = (name: fc.Arbitrary<string> = agentName): fc.Arbitrary<Obj> =>
  fc.tuple(name, agentSpec).map(([n, spec]) => ({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: objectMeta(n),
    spec,
  }));

const networkEgress = fc.array(
  fc.constantFrom(
    { to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ protocol: "TCP", port: 443 }] },
    { ports: [{ protocol: "UDP", port: 53 }] },
    { to: [{ namespaceSelector: {} }] },
  ),
  { maxLength: 3 },
);

const delegationPolicy = fc.record(
  {
    maxDepth: fc.integer({ min: 1, max: 10 }),
    defaultTimeoutSeconds: fc.integer({ min: 1, max: 86400 }),
    maxAttempts: fc.integer({ min: 1, max: 10 }),
    ttlSecondsAfterFinished: fc.integer({ min: 0, max: 30 * 86400 }),
  },
  { requiredKeys: [] },
);

const distinctAgents = (min: number, max: number) => fc.uniqueArray(agentName, { minLength: min, maxLength: max });
const role = fc.string({ maxLength: 60 });

/** The spec of one of the four patterns, following every CEL rule of AgentTeamSpec. */
export const teamSpec: fc.Arbitrary<Obj> = fc
  .record({
    pattern: fc.constantFrom(...TEAM_PATTERNS),
    names: distinctAgents(3, 24),
    roles: fc.array(fc.option(role), { maxLength: 24 }),
    split: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 24, maxLength: 24 }),
    withLead: fc.boolean(),
    common: fc.record(
      { delegation: delegationPolicy, networkIsolation: fc.boolean(), networkEgress },
      { requiredKeys: [] },
    ),
  })
  .map(({ pattern, names, roles, split, withLead, common }) => {
    const [lead, ...rest] = names as [string, ...string[]];
    const member = (agent: string, i: number) => ({ agent, ...(roles[i] != null && { role: roles[i] }) });
    switch (pattern) {
      case "hubAndSpoke":
        return { pattern, lead, members: rest.map(member), ...common };
      case "pipeline":
        return { pattern, stages: rest.slice(0, 16), ...(withLead && { lead }), ...common };
      case "swarm":
        return { pattern, members: [member(rest[0]!, 0)], ...(withLead && { lead }), ...common };
      default: {
        // Groups of distinct agents: a group lead, then its members; the team lead is in none.
        const groups: Obj[] = [];
        let current: string[] = [];
        rest.forEach((name, i) => {
          current.push(name);
          if (split[i] === 0 || i === rest.length - 1) {
            const [groupLead, ...members] = current as [string, ...string[]];
            groups.push({ name: `g${groups.length}`, lead: groupLead, ...(members.length && { members }) });
            current = [];
          }
        });
        return { pattern, lead, groups: groups.slice(0, 16), ...common };
      }
    }
  });

export const teamObject = (name: fc.Arbitrary<string> = agentName): fc.Arbitrary<Obj> =>
  fc.tuple(name, teamSpec).map(([n, spec]) => ({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: objectMeta(n),
    spec,
  }));

const contextMessages = fc.array(
  fc.record({ role: fc.constantFrom("system", "user", "assistant"), content: text(8 * 1024) }),
  { maxLength: 4 },
);

export const delegationName = fc.oneof(dns1123(63), fc.constantFrom("task-1", "task-2", `t${"x".repeat(61)}`));

/** A Delegation spec, following every CEL rule of DelegationSpec. */
export const delegationSpec: fc.Arbitrary<Obj> = fc
  .record(
    {
      route: fc.constantFrom("to", "team", "team+to", "team+capability"),
      team: agentName,
      to: agentName,
      capability: fc.constantFrom("research", "code", "write"),
      from: fc.option(agentName, { freq: 2 }),
      task: taskText(MAX_TASK_BYTES),
      context: contextMessages,
      parent: fc.option(delegationName, { freq: 3 }),
      timeoutSeconds: fc.integer({ min: 1, max: 86400 }),
      maxAttempts: fc.integer({ min: 1, max: 10 }),
      priority: fc.integer({ min: -1000, max: 1000 }),
      ttlSecondsAfterFinished: fc.integer({ min: 0, max: 30 * 86400 }),
    },
    { requiredKeys: ["route", "team", "to", "capability", "task"] },
  )
  .map(({ route, team, to, capability, from, parent, context, ...rest }) => {
    const spec: Obj = { ...rest };
    if (route.startsWith("team")) spec.team = team;
    if (route === "to" || route === "team+to") spec.to = to;
    if (route === "team+capability") spec.capability = capability;
    if (from != null && from !== spec.to) spec.from = from;
    if (parent != null) spec.parent = parent;
    const taskBytes = Buffer.byteLength(rest.task);
    const contextBytes = (context ?? []).reduce((n, m) => n + Buffer.byteLength(m.content), 0);
    if (context && taskBytes + contextBytes <= MAX_INPUT_BYTES) spec.context = context;
    return spec;
  });

export const delegationObject = (name: fc.Arbitrary<string> = delegationName): fc.Arbitrary<Obj> =>
  fc.tuple(name, delegationSpec).map(([n, spec]) => ({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: objectMeta(n),
    spec: spec.parent === n ? { ...spec, parent: `${n.slice(0, 60)}-p` } : spec,
  }));

// --- invalid objects -------------------------------------------------------------------------

/** Every path into `value`'s objects and arrays, as key lists. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (typeof value === "object" && value !== null) {
    return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  }
  return [prefix];
}

/** Values that break a field: wrong types, out of range numbers, bad patterns, oversized text. */
const breakingValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    "",
    " ",
    -1,
    0,
    1.5,
    1e21,
    Number.MAX_SAFE_INTEGER,
    "UPPER",
    "has space",
    "a/b/../c",
    "x".repeat(70_000),
    "😀".repeat(20_000),
    [],
    {},
    true,
    "__proto__",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
    "${OPENCLAW_GATEWAY_TOKEN}",
  ),
);

type Mutation = (obj: Obj) => Obj;

function setPath(obj: Obj, path: (string | number)[], value: unknown, remove = false): Obj {
  const copy = structuredClone(obj);
  if (path.length === 0) return value as Obj;
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

/** A random field of the spec replaced by a breaking value, or removed. */
function fieldMutation(obj: Obj): fc.Arbitrary<Obj> {
  const all = paths(obj.spec, ["spec"]);
  return fc
    .record({ path: fc.constantFrom(...all), value: breakingValue, remove: fc.boolean() })
    .map(({ path, value, remove }) => setPath(obj, path, value, remove && path.length > 1));
}

/** Mutations that pass the zod schema but break a CEL rule or a rule only the operator checks. */
const semanticAgent: Mutation[] = [
  (a) => setPath(a, ["spec", "soulFrom"], { configMapKeyRef: { name: "souls", key: "SOUL.md" } }),
  (a) => setPath(setPath(a, ["spec", "soul"], undefined, true), ["spec", "soulFrom"], undefined, true),
  (a) => setPath(a, ["spec", "skills"], [{ name: "clawcrew-delegation", content: "mine" }]),
  (a) => setPath(a, ["spec", "config"], { gateway: { auth: { mode: "none" } } }),
  (a) => setPath(a, ["spec", "config"], { gateway: { port: 1 } }),
  (a) => setPath(a, ["spec", "config"], { agents: { entries: { other: {} } } }),
  (a) => setPath(a, ["spec", "config"], { channels: { telegram: { botToken: "123:abc" } } }),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
  (a) => setPath(a, ["spec", "config"], { models: { providers: { x: { apiKey: "${OPENCLAW_GATEWAY_TOKEN}" } } } }),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
  (a) => setPath(a, ["spec", "config"], { models: { providers: { x: { apiKey: "${CLAWCREW_DELEGATION_TOKEN}" } } } }),
  (a) => setPath(a, ["spec", "config"], { logging: { level: "loud" }, nonsense: { a: 1 } }),
  (a) => setPath(a, ["spec", "config"], JSON.parse('{"__proto__": {"polluted": true}}')),
  (a) => setPath(a, ["spec", "config"], { gateway: "not an object" }),
  (a) => setPath(a, ["spec", "scaling"], { minReplicas: 5, maxReplicas: 2 }),
  (a) => setPath(a, ["spec", "tools"], { allow: ["read"], alsoAllow: ["exec"] }),
  (a) =>
    setPath(a, ["spec", "config"], {
      agents: { entries: { [(a.metadata as Obj).name as string]: { tools: { allow: ["exec"] } } } },
    }),
  (a) => setPath(a, ["spec", "resources"], { requests: { memory: "4Gi" } }),
  (a) => setPath(a, ["spec", "resources"], { requests: { cpu: "2" }, limits: { cpu: "1" } }),
  (a) => setPath(a, ["spec", "podTemplate"], { metadata: { labels: { "not a label!": "x" } } }),
  (a) => setPath(a, ["spec", "podTemplate"], { nodeSelector: { ok: "not a value!" } }),
  (a) =>
    setPath(
      a,
      ["spec", "model", "providers"],
      [{ name: "p", baseUrl: "http://x", api: "ollama", models: [{ id: "m" }, { id: "m" }] }],
    ),
  (a) => setPath(a, ["spec", "capabilities"], ["code", "code"]),
];

const semanticTeam: Mutation[] = [
  (t) => setPath(t, ["spec", "lead"], undefined, true),
  (t) => setPath(t, ["spec", "members"], undefined, true),
  (t) => setPath(t, ["spec", "members"], []),
  (t) => setPath(t, ["spec", "stages"], ["researcher"]),
  (t) => setPath(t, ["spec", "groups"], [{ name: "g", lead: "x", members: ["x"] }]),
  (t) => setPath(t, ["spec", "members"], [{ agent: (t.spec as Obj).lead ?? "ceo" }, { agent: "writer" }]),
  (t) => setPath(t, ["spec", "pattern"], "hubAndSpoke"),
  (t) => setPath(t, ["spec", "pattern"], "pipeline"),
  (t) => setPath(t, ["spec", "pattern"], "federated"),
  (t) => setPath(t, ["spec", "pattern"], "swarm"),
  (t) => setPath(t, ["spec", "networkEgress"], [{ ports: [{ port: "not a port" }] }]),
  (t) => setPath(t, ["spec", "members"], [{ agent: "a" }, { agent: "a" }]),
];

const semanticDelegation: Mutation[] = [
  (d) => setPath(setPath(d, ["spec", "team"], undefined, true), ["spec", "to"], undefined, true),
  (d) => setPath(setPath(d, ["spec", "to"], "researcher"), ["spec", "capability"], "code"),
  (d) => setPath(setPath(d, ["spec", "team"], undefined, true), ["spec", "capability"], "code"),
  (d) => setPath(setPath(d, ["spec", "to"], "ceo"), ["spec", "from"], "ceo"),
  (d) => setPath(d, ["spec", "parent"], (d.metadata as Obj).name),
  (d) => setPath(d, ["spec", "task"], "   \n\t "),
  (d) =>
    setPath(
      d,
      ["spec", "context"],
      Array.from({ length: 3 }, () => ({ role: "user", content: "x".repeat(60_000) })),
    ),
];

/** An invalid object of the kind `valid` generates: a broken field, a broken rule, or random JSON in places. */
export function invalid(valid: fc.Arbitrary<Obj>, semantic: Mutation[]): fc.Arbitrary<Obj> {
  return valid.chain((obj) =>
    fc.oneof(
      { weight: 6, arbitrary: fieldMutation(obj) },
      { weight: 3, arbitrary: fc.constantFrom(...semantic).map((m) => m(obj)) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((spec) => ({ ...obj, spec })) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => v as Obj) },
    ),
  );
}

export const invalidAgent = invalid(agentObject(), semanticAgent);
export const invalidTeam = invalid(teamObject(), semanticTeam);
export const invalidDelegation = invalid(delegationObject(), semanticDelegation);
