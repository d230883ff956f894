/**
 * Delegation between REAL OpenClaw gateways: the operator process renders a lead `ceo` whose gateway reaches the
 * operator's delegation endpoint over MCP, and two workers (`researcher`, `writer`). All three run in the pod
 * network at their kwok IPs; their models are a stub LLM on the bridge address, scripted by request.model and by
 * what the messages hold (never by a turn counter). The lead's model finds the `delegate` tool with
 * `tool_search`, calls it with `tool_call`, and replies with the worker's answer.
 * Needs root and the pinned OpenClaw package (hack/openclaw.sh installs it); 3 gateways take about 3 GiB.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChatMessage,
  type ChatRequest,
  type ControlPlane,
  eventually,
  freePorts,
  GVR,
  installCrds,
  installSignalCleanup,
  isReady,
  kubectlOk,
  namespaceApi,
  type Obj,
  type OperatorProcess,
  STUB_USAGE,
  type StubLlm,
  type StubReply,
  startControlPlane,
  startOperator,
  startStubLlm,
} from "../../harness/index.ts";
import {
  acquirePodNetwork,
  BRIDGE_ADDRESS,
  BRIDGE_NAME,
  LOCK_FILE,
  listPodNetLinks,
  listSandboxNetns,
  type PodAgent,
  type PodNetwork,
  startPodAgent,
} from "../../harness/podnet/index.ts";
import { DELEGATION_TOKEN_KEY, TOKEN_KEY } from "../../src/agent/desired.ts";
import { KubeClient } from "../../src/runtime/client.ts";

const NS = "deleg-openclaw";
const TASK = "Task T-7: compute 3+4";
const WORKER_ANSWER = "T-7 = 7";
const DELEGATE_TOOL_ID = "mcp:clawcrew:clawcrew__delegate";
/** Tool call ids the lead's script uses (OpenClaw keeps only the letters and digits of an id). */
const SEARCH_CALL = "call7search";
const DELEGATE_CALL = "call7delegate";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What the stub LLM reports for each of the worker's calls on the task. */
const WORKER_USAGE = { prompt_tokens: 1234, completion_tokens: 56, total_tokens: 1290 };

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string })?.text ?? "").join("");
  return content === undefined || content === null ? "" : JSON.stringify(content);
}

const mentionsTask = (messages: ChatMessage[]) => messages.some((m) => text(m.content).includes("T-7"));

/**
 * The lead: no tool result yet → tool_search; the search result → tool_call of the delegate tool it lists;
 * the delegate result → "CEO: <result>". Keyed on the tool results in the messages.
 */
function leadReply(request: ChatRequest): StubReply {
  if (!mentionsTask(request.messages)) return { content: "ok" };
  const results = request.messages.filter((m) => m.role === "tool");
  const delegated = results.find((m) => m.tool_call_id === DELEGATE_CALL);
  if (delegated) return { content: `CEO: ${text(delegated.content)}` };
  const searched = results.find((m) => m.tool_call_id === SEARCH_CALL);
  if (searched) {
    const found = /mcp:[\w-]+:[\w-]+__delegate\b/.exec(text(searched.content))?.[0];
    if (!found) return { content: `LEAD-SCRIPT: no delegate tool in the search result: ${text(searched.content)}` };
    return {
      toolCalls: [
        { id: DELEGATE_CALL, name: "tool_call", arguments: { id: found, args: { agent: "researcher", task: TASK } } },
      ],
    };
  }
  return { toolCalls: [{ id: SEARCH_CALL, name: "tool_search", arguments: { query: "delegate" } }] };
}

function script(request: ChatRequest): StubReply {
  if (request.model.endsWith("lead")) return leadReply(request);
  if (request.model.endsWith("worker")) {
    return mentionsTask(request.messages) ? { content: WORKER_ANSWER, usage: WORKER_USAGE } : { content: "ok" };
  }
  return { content: `unexpected model ${request.model}` };
}

describe("delegation between real OpenClaw gateways", () => {
  let cp: ControlPlane | undefined;
  let network: PodNetwork | undefined;
  let podAgent: PodAgent | undefined;
  let stub: StubLlm | undefined;
  let op: OperatorProcess | undefined;
  let removeSignalCleanup: (() => void) | undefined;
  let client: KubeClient;
  let endpoint: string;
  const gatewayTokens: Record<string, string> = {};
  const delegationTokens: Record<string, string> = {};
  const timings: Record<string, number> = {};

  const { api, listDelegations, agentPods, agentTokens } = namespaceApi(() => client, NS);

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root: it creates network namespaces and a bridge");
    removeSignalCleanup = installSignalCleanup();
    let t0 = performance.now();
    network = await acquirePodNetwork({ waitMs: 360_000, log: () => {} });
    timings.networkMs = Math.round(performance.now() - t0);
    t0 = performance.now();
    cp = await startControlPlane({ podReadiness: "external", log: () => {} });
    timings.controlPlaneMs = Math.round(performance.now() - t0);
    client = KubeClient.load({ kubeconfig: cp.kubeconfigPath });
    await installCrds(cp.kubeconfigPath);
    await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NS } } });
    stub = await startStubLlm({ host: BRIDGE_ADDRESS, models: ["lead", "worker", "writer"], reply: script });

    const port = (await freePorts(1, BRIDGE_ADDRESS))[0]!;
    endpoint = `http://${BRIDGE_ADDRESS}:${port}`;
    op = await startOperator(cp.kubeconfigPath, "op-1", [
      `--namespace=${NS}`,
      `--leader-election-namespace=${NS}`,
      `--delegation-bind-address=${BRIDGE_ADDRESS}:${port}`,
      `--delegation-url=${endpoint}/mcp`,
    ]);
    await eventually(
      "the operator to lead",
      async () => {
        if (op!.child.exitCode !== null) throw new Error(`operator exited: see ${op!.logFile}`);
        return op!.logs.some((l) => l.msg === "controllers started") ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
    podAgent = startPodAgent({ kubeconfig: cp.kubeconfigPath, runtime: "openclaw", namespace: NS, log: () => {} });

    const provider = {
      name: "stub",
      baseUrl: stub.baseUrl,
      api: "openai-completions",
      apiKeyEnv: "STUB_API_KEY",
      models: ["lead", "worker", "writer"].map((id) => ({ id, contextWindow: 128000, maxTokens: 4096 })),
    };
    const agent = (name: string, model: string, spec: Obj = {}) => ({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Agent",
      metadata: { name, namespace: NS },
      spec: {
        description: `The ${name}.`,
        soul: `# ${name}\nYou are the ${name}.`,
        model: { primary: model, providers: [provider] },
        credentials: { secretRef: { name: "llm-credentials" } },
        timeoutSeconds: 240,
        ...spec,
      },
    });
    await kubectlOk(cp.kubeconfigPath, ["apply", "-f", "-"], {
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "llm-credentials", namespace: NS },
          stringData: { STUB_API_KEY: "sk-stub-delegation" },
        },
        // An allow-list without the delegation tools: the operator keeps them (clawcrew__*) for a lead.
        agent("ceo", "stub/lead", { capabilities: ["planning"], tools: { allow: ["web_fetch", "memory_search"] } }),
        agent("researcher", "stub/worker", { capabilities: ["research"] }),
        agent("writer", "stub/writer", { capabilities: ["writing"] }),
        {
          apiVersion: "clawcrew.io/v1alpha1",
          kind: "AgentTeam",
          metadata: { name: "company", namespace: NS },
          spec: {
            pattern: "hubAndSpoke",
            lead: "ceo",
            members: [
              { agent: "researcher", role: "Research and compute." },
              { agent: "writer", role: "Write the text." },
            ],
          },
        },
      ],
    });
    t0 = performance.now();
    await eventually(
      "3 Ready OpenClaw gateways",
      async () => {
        for (const info of podAgent!.pods()) {
          if (info.state === "failed" || info.state === "exited") {
            throw new Error(
              `gateway ${info.name} ${info.state}: ${info.error?.message}\n${info.output().slice(-3000)}`,
            );
          }
        }
        for (const name of ["ceo", "researcher", "writer"]) {
          const pods = await agentPods(name);
          // The lead may be rolled once its team's view lands in its config: wait for the settled pod.
          if (pods.length !== 1 || !isReady(pods[0]!)) return undefined;
          const status = (await client.get<Obj>(api(GVR.agents, name))).status;
          if (status?.readyReplicas !== 1) return undefined;
        }
        return true;
      },
      { timeoutMs: 270_000, intervalMs: 1_000 },
    );
    timings.gatewaysReadyMs = Math.round(performance.now() - t0);
    // The lead's gateway token to talk to its gateway, as the operator does; the writer's delegation token
    // to try the endpoint as the writer.
    Object.assign(gatewayTokens, await agentTokens(["ceo"], TOKEN_KEY));
    Object.assign(delegationTokens, await agentTokens(["writer"], DELEGATION_TOKEN_KEY));
  }, 900_000);

  afterAll(async () => {
    const pids = podAgent?.startedPids() ?? [];
    try {
      await op?.stop();
      await podAgent?.stop();
      await stub?.close();
      await network?.destroy();
      client?.close();
      await cp?.stop();
    } finally {
      removeSignalCleanup?.();
      console.log(`[delegation-openclaw] ${JSON.stringify(timings)}`);
    }
    expect(op === undefined || op.child.exitCode !== null || op.child.signalCode !== null).toBe(true);
    expect(listSandboxNetns()).toEqual([]);
    expect(listPodNetLinks()).toEqual([]);
    expect(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).not.toContain(BRIDGE_NAME);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(existsSync(LOCK_FILE)).toBe(false);
  }, 120_000);

  it("a lead's model delegates to a worker through the MCP tool and replies with its answer", async () => {
    const [ceoPod] = await agentPods("ceo");
    const before = stub!.chatRequests().length;
    const t0 = performance.now();
    const response = await fetch(`http://${ceoPod!.status.podIP}:18789/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${gatewayTokens.ceo}` },
      body: JSON.stringify({
        model: "openclaw/default",
        messages: [{ role: "user", content: `Please get this done: ${TASK}` }],
      }),
      signal: AbortSignal.timeout(240_000),
    });
    timings.leadTurnMs = Math.round(performance.now() - t0);
    const body = (await response.json()) as Obj;
    const requests = stub!.chatRequests().slice(before);
    const trace = JSON.stringify(requests.map((r) => [r.model, r.messages.at(-1)])).slice(-4000);
    expect(response.status, JSON.stringify(body)).toBe(200);
    const reply = String(body.choices?.[0]?.message?.content);
    expect(reply, trace).toContain("CEO: ");
    expect(reply).toContain(WORKER_ANSWER);

    // The lead's model searched, then called the delegate tool with the id it found.
    const lead = requests.filter((r) => r.model.endsWith("lead") && mentionsTask(r.messages));
    const search = lead.flatMap((r) => r.messages).find((m) => m.role === "tool" && m.tool_call_id === SEARCH_CALL);
    expect(text(search?.content)).toContain(DELEGATE_TOOL_ID);
    // ...and was offered nothing its allow-list leaves out.
    const offered = lead[0]?.tools?.map((t) => t.function.name) ?? [];
    expect(offered).toContain("tool_search");
    for (const tool of ["exec", "process", "write", "edit", "read"]) expect(offered).not.toContain(tool);
    // The worker's model got the task.
    const worker = requests.filter((r) => r.model.endsWith("worker") && mentionsTask(r.messages));
    expect(worker.length).toBeGreaterThan(0);
    expect(JSON.stringify(worker[0]!.messages)).toContain(TASK);

    const delegations = await listDelegations();
    expect(delegations).toHaveLength(1);
    const [d] = delegations;
    expect(d!.spec).toMatchObject({ from: "ceo", to: "researcher", team: "company", task: TASK });
    expect(d!.status).toMatchObject({ phase: "Succeeded", agent: "researcher", result: WORKER_ANSWER });
    expect((await agentPods("researcher")).map((p) => p.metadata.name)).toContain(d!.status?.pod);
    expect(d!.status?.attempts).toHaveLength(1);
    // Usage as the stub LLM reported it, summed over the LLM calls of each turn: the worker's gateway told
    // the operator (status.usage), the lead's told the caller. The stub is not at loopback: without the
    // rendered compat.supportsUsageInStreaming, OpenClaw would not ask it for usage and answer zeros.
    const n = worker.length;
    expect(d!.status?.usage).toEqual({
      promptTokens: n * WORKER_USAGE.prompt_tokens,
      completionTokens: n * WORKER_USAGE.completion_tokens,
      totalTokens: n * WORKER_USAGE.total_tokens,
    });
    expect(body.usage).toEqual({
      prompt_tokens: lead.length * STUB_USAGE.prompt_tokens,
      completion_tokens: lead.length * STUB_USAGE.completion_tokens,
      total_tokens: lead.length * STUB_USAGE.total_tokens,
    });
    timings.workerCalls = n;
  });

  it("refuses the writer's delegation to the lead over REST and MCP, and creates nothing", async () => {
    const before = (await listDelegations()).length;
    const response = await fetch(`${endpoint}/v1/delegations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${delegationTokens.writer}` },
      body: JSON.stringify({ agent: "ceo", task: "do my work" }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as Obj).error.code).toBe("Forbidden");
    const mcp = new Client({ name: "delegation-openclaw-test", version: "1" });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${endpoint}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${delegationTokens.writer}` } },
      }),
    );
    try {
      const result = await mcp.callTool({ name: "delegate", arguments: { agent: "ceo", task: "do my work" } });
      expect(result.isError).toBe(true);
      expect((result.content as { text: string }[])[0]!.text).toMatch(/^refused \(Forbidden\)/);
    } finally {
      await mcp.close();
    }
    await sleep(1_000);
    const after = await listDelegations();
    expect(after).toHaveLength(before);
    expect(after.filter((d) => d.spec.from === "writer")).toEqual([]);
  });
});
