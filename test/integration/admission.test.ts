// The CRDs, installed on the real API server, accept the examples and reject bad input
// at `kubectl apply` with a message that names the field.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { installCrds, kubectl, kubectlOk, repoRoot } from "../../harness/index.ts";

const kubeconfig = inject("kubeconfig");
const ns = `admission-${Math.random().toString(36).slice(2, 8)}`;

type Obj = Record<string, unknown>;

/** Drops keys set to undefined, so a case can remove a field from its base object. */
function clean<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

function agent(spec: Obj, name = "worker"): Obj {
  return clean({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name },
    spec: { soul: "You help.", model: { primary: "openai/gpt-5" }, ...spec },
  });
}

function team(spec: Obj, name = "crew"): Obj {
  return clean({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name },
    spec: { pattern: "hubAndSpoke", lead: "ceo", members: [{ agent: "researcher" }], ...spec },
  });
}

function delegation(spec: Obj, name = "task-1"): Obj {
  return clean({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { name },
    spec: { to: "researcher", task: "Summarise the report.", ...spec },
  });
}

const provider = (patch: Obj) => ({
  primary: "local/m",
  providers: [
    { name: "local", baseUrl: "http://llm:8000/v1", api: "openai-completions", models: [{ id: "m" }], ...patch },
  ],
});

/** [case, object, every fragment the error must contain] */
const rejected: [string, Obj, string[]][] = [
  // Agent
  ["negative replicas", agent({ replicas: -1 }), ["spec.replicas", "greater than or equal to 0"]],
  ["replicas as a string", agent({ replicas: "3" }), ["spec.replicas", "integer"]],
  ["absurd replicas", agent({ replicas: 100000 }), ["spec.replicas", "less than or equal to 1000"]],
  [
    "minReplicas above maxReplicas",
    agent({ scaling: { minReplicas: 5, maxReplicas: 2 } }),
    ["spec.scaling", "scaling.minReplicas must not exceed scaling.maxReplicas"],
  ],
  [
    "targetPendingPerReplica below 1",
    agent({ scaling: { maxReplicas: 3, targetPendingPerReplica: 0 } }),
    ["spec.scaling.targetPendingPerReplica", "greater than or equal to 1"],
  ],
  [
    "maxReplicas above 1000",
    agent({ scaling: { maxReplicas: 1001 } }),
    ["spec.scaling.maxReplicas", "less than or equal to 1000"],
  ],
  [
    "scaling without maxReplicas",
    agent({ scaling: { minReplicas: 1 } }),
    ["spec.scaling.maxReplicas", "Required value"],
  ],
  [
    "both soul and soulFrom",
    agent({ soulFrom: { configMapKeyRef: { name: "p", key: "SOUL.md" } } }),
    ["spec", "exactly one of spec.soul or spec.soulFrom must be set"],
  ],
  [
    "neither soul nor soulFrom",
    agent({ soul: undefined }),
    ["spec", "exactly one of spec.soul or spec.soulFrom must be set"],
  ],
  ["empty soul", agent({ soul: "" }), ["spec.soul", "at least 1 chars long"]],
  ["model without a provider", agent({ model: { primary: "gpt-5" } }), ["spec.model.primary", "should match"]],
  ["model with an empty name", agent({ model: { primary: "openai/" } }), ["spec.model.primary", "should match"]],
  ["model with whitespace", agent({ model: { primary: "openai/gpt 5" } }), ["spec.model.primary", "should match"]],
  ["no model", agent({ model: undefined }), ["spec.model", "Required value"]],
  [
    "fallback that is not provider/model",
    agent({ model: { primary: "a/b", fallbacks: ["c"] } }),
    ["spec.model.fallbacks[0]"],
  ],
  ["timeoutSeconds 0", agent({ timeoutSeconds: 0 }), ["spec.timeoutSeconds", "greater than or equal to 1"]],
  [
    "timeoutSeconds over a day",
    agent({ timeoutSeconds: 86401 }),
    ["spec.timeoutSeconds", "less than or equal to 86400"],
  ],
  ["name too long for derived objects", agent({}, "a".repeat(51)), ["metadata.name", "at most 50 characters"]],
  ["name with a dot", agent({}, "my.agent"), ["metadata.name", "DNS-1035 label"]],
  ["name starting with a digit", agent({}, "1agent"), ["metadata.name", "DNS-1035 label"]],
  [
    "the name of every namespace's own ServiceAccount",
    agent({}, "default"),
    ["metadata.name must not be 'default'", "ServiceAccount default"],
  ],
  ["unknown field (typo)", agent({ replica: 2 }), ['unknown field "spec.replica"']],
  [
    "skill escaping its directory",
    agent({ skills: [{ name: "../../etc", content: "x" }] }),
    ["spec.skills[0].name", "should match"],
  ],
  [
    "two skills with one name",
    agent({
      skills: [
        { name: "s", content: "a" },
        { name: "s", content: "b" },
      ],
    }),
    ["spec.skills[1]", "Duplicate value"],
  ],
  [
    "a tool group OpenClaw does not have",
    agent({ tools: { deny: ["group:shell"] } }),
    ["spec.tools.deny[0]", "should match"],
  ],
  ["a tool name with a space", agent({ tools: { allow: ["web search"] } }), ["spec.tools.allow[0]", "should match"]],
  [
    "both tools.allow and tools.alsoAllow",
    agent({ tools: { allow: ["read"], alsoAllow: ["exec"] } }),
    ["spec.tools", "set tools.allow or tools.alsoAllow, not both"],
  ],
  ["an unknown tool profile", agent({ tools: { profile: "research" } }), ["spec.tools.profile", "Unsupported value"]],
  ["an empty deny-list", agent({ tools: { deny: [] } }), ["spec.tools.deny", "at least 1 items"]],
  ["duplicate capabilities", agent({ capabilities: ["code", "code"] }), ["spec.capabilities[1]", "Duplicate value"]],
  ["soul over 64 KiB", agent({ soul: "x".repeat(65537) }), ["spec.soul", "Too long"]],
  ["soul over 64 KiB in bytes", agent({ soul: "😀".repeat(20000) }), ["spec.soul", "at most 65536 bytes of UTF-8"]],
  [
    "skill over 32 KiB in bytes",
    agent({ skills: [{ name: "s", content: "€".repeat(11000) }] }),
    ["spec.skills[0].content", "at most 32768 bytes of UTF-8"],
  ],
  [
    "provider with a file URL",
    agent({ model: provider({ baseUrl: "file:///etc/passwd" }) }),
    ["spec.model.providers[0].baseUrl"],
  ],
  [
    "provider URL with a user and password in it",
    agent({ model: provider({ baseUrl: "https://user:hunter2@llm.example/v1" }) }),
    ["spec.model.providers[0].baseUrl", "should match"],
  ],
  [
    "the gateway's own token as a provider's key",
    agent({ model: provider({ apiKeyEnv: "OPENCLAW_GATEWAY_TOKEN" }) }),
    ["spec.model.providers[0].apiKeyEnv", "must not be OPENCLAW_GATEWAY_TOKEN"],
  ],
  [
    "the delegation token as a provider's key",
    agent({ model: provider({ apiKeyEnv: "CLAWCREW_DELEGATION_TOKEN" }) }),
    ["spec.model.providers[0].apiKeyEnv", "CLAWCREW_DELEGATION_TOKEN: those are the agent's own tokens"],
  ],
  [
    "a memory limit below the default request",
    agent({ resources: { limits: { memory: "1Gi" } } }),
    ["spec.resources", "a request exceeds its limit once merged with the defaults"],
  ],
  [
    "a memory request above the default limit",
    agent({ resources: { requests: { memory: "3Gi" } } }),
    ["spec.resources", "a request exceeds its limit once merged with the defaults"],
  ],
  [
    "a cpu request above its limit",
    agent({ resources: { requests: { cpu: 2 }, limits: { cpu: "1500m" } } }),
    ["spec.resources", "a request exceeds its limit once merged with the defaults"],
  ],
  [
    "provider with an unknown api",
    agent({ model: provider({ api: "smoke-signals" }) }),
    ["spec.model.providers[0].api", "Unsupported value"],
  ],
  [
    "api key env with shell syntax",
    agent({ model: provider({ apiKeyEnv: "KEY;rm -rf /" }) }),
    ["spec.model.providers[0].apiKeyEnv"],
  ],
  [
    "credentials Secret with a bad name",
    agent({ credentials: { secretRef: { name: "Bad_Name" } } }),
    ["spec.credentials.secretRef.name"],
  ],
  ["image with whitespace", agent({ image: "ghcr.io/x y" }), ["spec.image", "should match"]],
  ["maxConcurrentTasks 0", agent({ maxConcurrentTasks: 0 }), ["spec.maxConcurrentTasks"]],
  [
    "workspace size that is not a quantity",
    agent({ workspace: { persistent: true, size: "lots" } }),
    ["spec.workspace.size"],
  ],
  [
    "memory limit that is not a quantity",
    agent({ resources: { limits: { memory: "2 GB" } } }),
    ["spec.resources.limits.memory"],
  ],
  ["multi-line description", agent({ description: "one\ntwo" }), ["spec.description", "should match"]],
  [
    "unknown scaling mode",
    agent({ scaling: { maxReplicas: 3, mode: "Auto" } }),
    ["spec.scaling.mode", "Unsupported value"],
  ],
  [
    "a pod label key with a space",
    agent({ podTemplate: { metadata: { labels: { "bad key!": "x" } } } }),
    ["spec.podTemplate.metadata.labels", "keys must be qualified names", "such as example.com/pool"],
  ],
  [
    "a pod label value with a space",
    agent({ podTemplate: { metadata: { labels: { team: "not a value!" } } } }),
    ["spec.podTemplate.metadata.labels", "values must be empty or at most 63 letters"],
  ],
  [
    "a pod annotation key with two slashes",
    agent({ podTemplate: { metadata: { annotations: { "a/b/c": "x" } } } }),
    ["spec.podTemplate.metadata.annotations", "keys must be qualified names"],
  ],
  [
    "a nodeSelector key with two slashes",
    agent({ podTemplate: { nodeSelector: { "a/b/c": "x" } } }),
    ["spec.podTemplate.nodeSelector", "keys must be qualified names"],
  ],
  [
    "a nodeSelector key whose name is 64 characters",
    agent({ podTemplate: { nodeSelector: { [`example.com/${"n".repeat(64)}`]: "x" } } }),
    ["spec.podTemplate.nodeSelector", "keys must be qualified names"],
  ],
  [
    "a nodeSelector key whose prefix is no DNS subdomain",
    agent({ podTemplate: { nodeSelector: { "Example_com/pool": "x" } } }),
    ["spec.podTemplate.nodeSelector", "keys must be qualified names"],
  ],
  [
    "a nodeSelector key whose prefix is over 253 characters",
    agent({ podTemplate: { nodeSelector: { [`${"p".repeat(254)}/pool`]: "x" } } }),
    ["spec.podTemplate.nodeSelector", "keys must be qualified names"],
  ],
  [
    "a nodeSelector value with a slash",
    agent({ podTemplate: { nodeSelector: { pool: "a/b" } } }),
    ["spec.podTemplate.nodeSelector", "values must be empty or at most 63 letters"],
  ],
  [
    "a toleration key with a space",
    agent({ podTemplate: { tolerations: [{ key: "bad key!", operator: "Exists" }] } }),
    ["spec.podTemplate.tolerations[0].key", "must be empty or a qualified name"],
  ],
  // AgentTeam
  ["unknown pattern", team({ pattern: "mesh" }), ["spec.pattern", "Unsupported value"]],
  [
    "hubAndSpoke without a lead",
    team({ lead: undefined }),
    ["spec.lead", "spec.lead is required for pattern hubAndSpoke and federated"],
  ],
  [
    "federated without a lead",
    team({ pattern: "federated", lead: undefined, members: undefined, groups: [{ name: "g", lead: "a" }] }),
    ["spec.lead", "spec.lead is required for pattern hubAndSpoke and federated"],
  ],
  ["hubAndSpoke without members", team({ members: undefined }), ["spec.members", "at least one entry in spec.members"]],
  [
    "pipeline with one stage",
    team({ pattern: "pipeline", lead: undefined, members: undefined, stages: ["a"] }),
    ["spec.stages", "pipeline needs at least 2 spec.stages"],
  ],
  [
    "pipeline without stages",
    team({ pattern: "pipeline", lead: undefined, members: undefined }),
    ["spec.stages", "pipeline needs at least 2 spec.stages"],
  ],
  [
    "pipeline with a repeated stage",
    team({ pattern: "pipeline", stages: ["a", "a"] }),
    ["spec.stages[1]", "Duplicate value"],
  ],
  ["stages on a hubAndSpoke team", team({ stages: ["a", "b"] }), ["spec.stages", "only valid for pattern pipeline"]],
  [
    "lead listed again among members",
    team({ members: [{ agent: "ceo" }] }),
    ["spec.members", "spec.lead must not also be listed in spec.members"],
  ],
  [
    "duplicate members",
    team({ members: [{ agent: "researcher" }, { agent: "researcher", role: "again" }] }),
    ["spec.members[1]", "Duplicate value"],
  ],
  ["maxDepth 0", team({ delegation: { maxDepth: 0 } }), ["spec.delegation.maxDepth", "greater than or equal to 1"]],
  ["maxDepth 11", team({ delegation: { maxDepth: 11 } }), ["spec.delegation.maxDepth", "less than or equal to 10"]],
  [
    "swarm of two agents",
    team({ pattern: "swarm", lead: undefined, members: [{ agent: "a" }, { agent: "b" }] }),
    ["spec.members", "pattern swarm needs exactly one entry in spec.members"],
  ],
  [
    "federated group whose lead is also its member",
    team({ pattern: "federated", members: undefined, groups: [{ name: "g", lead: "a", members: ["a"] }] }),
    ["spec.groups[0]", "a group's lead must not also be listed in its members"],
  ],
  [
    "groups on a hubAndSpoke team",
    team({ groups: [{ name: "g", lead: "a" }] }),
    ["spec.groups", "only valid for pattern federated"],
  ],
  ["member name with uppercase", team({ members: [{ agent: "Researcher" }] }), ["spec.members[0].agent"]],
  // Delegation
  ["empty task", delegation({ task: "" }), ["spec.task", "at least 1 chars long"]],
  ["blank task", delegation({ task: "   \n\t " }), ["spec.task", "must not be blank"]],
  ["task over 64 KiB in characters", delegation({ task: "x".repeat(65537) }), ["spec.task", "Too long"]],
  ["task over 64 KiB in bytes", delegation({ task: "€".repeat(22000) }), ["spec.task", "at most 65536 bytes"]],
  [
    "a context message over 64 KiB in bytes",
    delegation({ context: [{ role: "user", content: "😀".repeat(20000) }] }),
    ["spec.context[0].content", "at most 65536 bytes of UTF-8"],
  ],
  [
    "task and context over 128 KiB together",
    delegation({
      task: "t".repeat(60000),
      context: Array.from({ length: 2 }, () => ({ role: "user", content: "c".repeat(40000) })),
    }),
    ["spec", "spec.task and spec.context together must be at most 131072 bytes"],
  ],
  ["neither team nor to", delegation({ to: undefined }), ["spec", "spec.team or spec.to is required"]],
  [
    "capability without team",
    delegation({ to: undefined, capability: "research" }),
    ["spec.capability", "spec.capability requires spec.team"],
  ],
  [
    "both to and capability",
    delegation({ team: "crew", capability: "research" }),
    ["spec.capability", "spec.to and spec.capability are mutually exclusive"],
  ],
  ["delegating to itself", delegation({ from: "researcher" }), ["spec.to", "cannot delegate to itself"]],
  ["its own parent", delegation({ parent: "task-1" }), ["spec.parent", "cannot be its own parent"]],
  ["priority out of range", delegation({ priority: 100000 }), ["spec.priority"]],
  ["no spec", { ...delegation({}), spec: undefined }, ["spec", "Required value"]],
];

describe("CRDs on a real API server", () => {
  beforeAll(async () => {
    await installCrds(kubeconfig);
    await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  });

  afterAll(async () => {
    await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
  });

  it("are served in discovery with their short names and category", async () => {
    const out = await kubectlOk(kubeconfig, ["api-resources", "--api-group=clawcrew.io", "-o", "wide"]);
    for (const [plural, short, kind] of [
      ["agents", "cca", "Agent"],
      ["agentteams", "cct", "AgentTeam"],
      ["delegations", "ccd", "Delegation"],
    ] as const) {
      const line = out.split("\n").find((l) => l.startsWith(`${plural} `));
      expect(line, out).toBeDefined();
      expect(line).toContain(short);
      expect(line).toContain(kind);
      expect(line).toContain("clawcrew");
    }
  });

  const exampleDirs = readdirSync(join(repoRoot, "examples"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  it.each(exampleDirs)("accept the %s example", async (dir) => {
    const out = await kubectlOk(kubeconfig, ["apply", "-n", ns, "-f", join(repoRoot, "examples", dir)]);
    expect(out).toMatch(/created|configured|unchanged/);
  });

  it.each([
    ["equal request and limit in other units", { requests: { memory: "4096Mi" }, limits: { memory: "4Gi" } }],
    ["a cpu limit above the default request", { limits: { cpu: "500m" } }],
    ["a larger memory limit alone", { limits: { memory: "8Gi" } }],
  ])("accept resources with %s", async (_, resources) => {
    const out = await kubectlOk(kubeconfig, ["apply", "-n", ns, "--dry-run=server", "-f", "-"], agent({ resources }));
    expect(out).toMatch(/created|configured/);
  });

  it("accept pod labels, annotations, a nodeSelector and tolerations at the edges of the key syntax", async () => {
    const longest = `${"p".repeat(253)}/${"n".repeat(63)}`;
    const podTemplate = {
      metadata: {
        labels: { [longest]: "v".repeat(63), "app.example.com/tier": "" },
        annotations: { [longest]: "x y" },
      },
      nodeSelector: { "node.kubernetes.io/instance-type": "m5.large", pool: "A_b-c.9" },
      tolerations: [{ operator: "Exists" }, { key: longest, operator: "Exists" }],
    };
    const out = await kubectlOk(kubeconfig, ["apply", "-n", ns, "--dry-run=server", "-f", "-"], agent({ podTemplate }));
    expect(out).toMatch(/created|configured/);
  });

  it("list every kind under `kubectl get clawcrew`", async () => {
    const out = await kubectlOk(kubeconfig, ["get", "clawcrew", "-n", ns, "-o", "name"]);
    const names = out.trim().split("\n");
    expect(names).toContain("agent.clawcrew.io/ceo");
    expect(names).toContain("agentteam.clawcrew.io/company");
    expect(names).toContain("delegation.clawcrew.io/market-scan");
  });

  it("fill in defaults on admission", async () => {
    const agentJson = JSON.parse(await kubectlOk(kubeconfig, ["get", "agent/ceo", "-n", ns, "-o", "json"]));
    expect(agentJson.spec).toMatchObject({ replicas: 1, maxConcurrentTasks: 4 });
    const teamJson = JSON.parse(
      await kubectlOk(kubeconfig, ["get", "agentteam/customer-service", "-n", ns, "-o", "json"]),
    );
    expect(teamJson.spec.delegation).toEqual({
      maxDepth: 3,
      defaultTimeoutSeconds: 600,
      maxAttempts: 3,
      ttlSecondsAfterFinished: 86400,
    });
    expect(teamJson.spec.networkIsolation).toBe(true);
  });

  it("scale an Agent through the scale subresource", async () => {
    await kubectlOk(kubeconfig, ["scale", "-n", ns, "agent/researcher", "--replicas=3"]);
    const spec = JSON.parse(
      await kubectlOk(kubeconfig, ["get", "agent/researcher", "-n", ns, "-o", "jsonpath={.spec}"]),
    );
    expect(spec.replicas).toBe(3);
    const scale = JSON.parse(
      await kubectlOk(kubeconfig, ["get", "agent/researcher", "-n", ns, "--subresource=scale", "-o", "json"]),
    );
    expect(scale.kind).toBe("Scale");
    expect(scale.spec.replicas).toBe(3);
    const negative = await kubectl(kubeconfig, ["scale", "-n", ns, "agent/researcher", "--replicas=-2"]);
    expect(negative.code).not.toBe(0);
  });

  it("show printer columns", async () => {
    const out = await kubectlOk(kubeconfig, ["get", "agents", "-n", ns]);
    expect(out.split("\n")[0]).toMatch(
      /NAME\s+DESIRED\s+CURRENT\s+AVAILABLE\s+QUEUED\s+IN-FLIGHT\s+MODEL\s+READY\s+AGE/,
    );
    expect(out).toMatch(/researcher\s+3\s+.*anthropic\/claude-sonnet-4-5/);
    // A scaled Agent's status.scaling, as the autoscaler writes it, fills QUEUED and IN-FLIGHT.
    const scaling = { desiredReplicas: 3, queued: 7, inFlight: 2, lastScaleTime: "2026-01-01T00:00:00Z" };
    await kubectlOk(kubeconfig, [
      "patch",
      "-n",
      ns,
      "agent/researcher",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { scaling } }),
    ]);
    const scaled = await kubectlOk(kubeconfig, ["get", "agent/researcher", "-n", ns]);
    expect(scaled).toMatch(/researcher\s+3\s+.*\s7\s+2\s+anthropic\/claude-sonnet-4-5/);
  });

  it("show a Delegation's attempts, how long it ran, and when it started and finished", async () => {
    await kubectlOk(kubeconfig, ["apply", "-n", ns, "-f", "-"], delegation({}, "columns"));
    // The status an operator writes after a retry: the column shows the last attempt's number.
    const attempt = (number: number, outcome: string) => ({
      number,
      outcome,
      startTime: "2026-01-01T00:00:00Z",
      completionTime: "2026-01-01T00:01:00Z",
    });
    const status = {
      phase: "Succeeded",
      reason: "Completed",
      agent: "researcher",
      attempts: [attempt(1, "Failed"), attempt(2, "Succeeded")],
      startTime: "2026-01-01T00:00:00Z",
      completionTime: "2026-01-01T00:02:00Z",
      duration: "2m0s",
    };
    await kubectlOk(kubeconfig, [
      "patch",
      "-n",
      ns,
      "delegation/columns",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status }),
    ]);
    const [header = "", row = ""] = (await kubectlOk(kubeconfig, ["get", "delegation/columns", "-n", ns])).split("\n");
    expect(header).toMatch(/^NAME\s+TEAM\s+AGENT\s+PHASE\s+REASON\s+ATTEMPTS\s+DURATION\s+STARTED\s+FINISHED\s+AGE$/);
    // kubectl aligns each cell under its header.
    const cell = (column: string) => row.slice(header.indexOf(column)).split(/\s+/)[0];
    expect(cell("AGENT")).toBe("researcher");
    expect(cell("PHASE")).toBe("Succeeded");
    expect(cell("ATTEMPTS")).toBe("2");
    expect(cell("DURATION")).toBe("2m0s");
    // Ages of times in the past, such as 335d: a duration, not <unknown> or <none>.
    expect(cell("STARTED")).toMatch(/^\d+[smhdy]/);
    expect(cell("FINISHED")).toMatch(/^\d+[smhdy]/);
  });

  it("explain every field with its default and unit", async () => {
    // kubectl wraps descriptions at its terminal width.
    const out = (await kubectlOk(kubeconfig, ["explain", "agent.spec.scaling.scaleDownDelaySeconds"])).replace(
      /\s+/g,
      " ",
    );
    expect(out).toContain("How long, in seconds, the desired count must stay lower before replicas are removed");
    expect(out).toContain("Default 300.");
    // The formula is documented where kubectl explain shows it.
    const scaling = (await kubectlOk(kubeconfig, ["explain", "agent.spec.scaling"])).replace(/\s+/g, " ");
    expect(scaling).toContain(
      "desiredReplicas = clamp(ceil((queued + inFlight) / (maxConcurrentTasks + targetPendingPerReplica)), minReplicas, maxReplicas)",
    );
    const status = (await kubectlOk(kubeconfig, ["explain", "agent.status.scaling", "--recursive"])).replace(
      /\s+/g,
      " ",
    );
    expect(status).toContain("desiredReplicas <integer>");
    expect(status).toContain("lastScaleTime <string>");
    const tree = await kubectlOk(kubeconfig, ["explain", "delegation.spec", "--recursive"]);
    expect(tree).toMatch(/ttlSecondsAfterFinished\s+<integer>/);
    const tools = (await kubectlOk(kubeconfig, ["explain", "agent.spec.tools.deny"])).replace(/\s+/g, " ");
    expect(tools).toContain("Tools the model is never offered and may not call, whatever allows them");
    expect(tools).toContain("group:runtime");
  });

  it("keep a Delegation's spec immutable", async () => {
    const original = delegation({ task: "First wording." }, "immutable-task");
    await kubectlOk(kubeconfig, ["apply", "-n", ns, "-f", "-"], original);
    const changed = delegation({ task: "Second wording." }, "immutable-task");
    const result = await kubectl(kubeconfig, ["apply", "-n", ns, "-f", "-"], changed);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("spec is immutable after creation");
    const task = await kubectlOk(kubeconfig, [
      "get",
      "delegation/immutable-task",
      "-n",
      ns,
      "-o",
      "jsonpath={.spec.task}",
    ]);
    expect(task).toBe("First wording.");
  });

  it.each(rejected)("reject %s", async (_, object, fragments) => {
    const result = await kubectl(kubeconfig, ["apply", "-n", ns, "-f", "-"], object);
    expect(result.code, result.stdout).not.toBe(0);
    for (const fragment of fragments) expect(result.stderr).toContain(fragment);
    const kind = String(object.kind).toLowerCase();
    const name = (object.metadata as { name: string }).name;
    const stored = await kubectl(kubeconfig, ["get", `${kind}/${name}`, "-n", ns, "--ignore-not-found", "-o", "name"]);
    expect(stored.stdout.trim(), "a rejected object must not be stored").toBe("");
  });
});
