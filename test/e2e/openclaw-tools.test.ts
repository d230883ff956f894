/**
 * spec.tools against real OpenClaw gateways: two agents of one team, each its own gateway in the pod layout
 * (pod-gateway.ts), sharing a stub LLM. The researcher may not run code (group:runtime and group:fs denied);
 * the coder is allowed exactly those groups. What the stub receives is what the model is offered; what the
 * stub answers is the model's tool call.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatRequest, type StubLlm, startStubLlm } from "../../harness/index.ts";
import { AgentSpec } from "../../src/api/agent.ts";
import { WORKSPACE_DIR } from "../../src/openclaw/pod-layout.ts";
import { type PodGateway, startPodGateway } from "./pod-gateway.ts";

const RUNTIME_AND_FS = ["exec", "process", "read", "write", "edit", "apply_patch"];

const agentSpec = (soul: string, tools: unknown) =>
  AgentSpec.parse({
    soul,
    model: {
      primary: "stub/stub-model",
      providers: [
        {
          name: "stub",
          baseUrl: "http://127.0.0.1:1/v1", // replaced below, once the stub listens
          api: "openai-completions",
          apiKeyEnv: "STUB_API_KEY",
          models: [{ id: "stub-model", contextWindow: 128000, maxTokens: 4096 }],
        },
      ],
    },
    timeoutSeconds: 120,
    tools,
  });

describe("per-agent tool policy on real gateways", () => {
  let stub: StubLlm;
  let researcher: PodGateway;
  let coder: PodGateway;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root: it creates mount, PID and network namespaces");
    stub = await startStubLlm({ models: ["stub-model"], reply: { content: "ok" } });
    const withStub = (spec: AgentSpec) => {
      spec.model.providers![0]!.baseUrl = stub.baseUrl;
      return spec;
    };
    [researcher, coder] = await Promise.all([
      startPodGateway(
        "researcher",
        withStub(agentSpec("You research and report. RESEARCHER-SOUL", { deny: ["group:runtime", "group:fs"] })),
        stub,
      ),
      startPodGateway(
        "coder",
        withStub(agentSpec("You write code. CODER-SOUL", { allow: ["group:runtime", "group:fs"] })),
        stub,
      ),
    ]);
  });

  afterAll(async () => {
    await Promise.all([researcher?.close(), coder?.close()]);
    await stub?.close();
  });

  /**
   * One turn in which the model makes `call` first, then answers with the tool result it got back.
   * Returns the LLM requests of the turn and the tool result's text.
   */
  async function turnWithToolCall(
    gateway: PodGateway,
    call: { name: string; arguments: unknown },
  ): Promise<{ requests: ChatRequest[]; toolResult: string; reply?: string | undefined }> {
    const before = stub.chatRequests().length;
    stub.script((request) => {
      const result = request.messages.find((m) => m.role === "tool");
      return result
        ? { content: `tool said: ${JSON.stringify(result.content)}` }
        : { toolCalls: [{ id: "call1policy", ...call }] };
    });
    const { status, reply, body } = await gateway.chat("Run the tool, please.");
    stub.script({ content: "ok" });
    expect(status, JSON.stringify(body)).toBe(200);
    const requests = stub.chatRequests().slice(before);
    const toolMessage = requests.flatMap((r) => r.messages).find((m) => m.role === "tool");
    expect(toolMessage, "the gateway sent the tool result back to the model").toBeDefined();
    return { requests, toolResult: JSON.stringify(toolMessage?.content), reply };
  }

  const marker = (agent: string) => join(WORKSPACE_DIR, `exec-ran-${agent}`);
  const execCall = (agent: string) => ({
    name: "exec",
    arguments: { command: `touch ${marker(agent)} && echo EXEC-RAN-${agent}` },
  });

  it("offers a denied tool to no model, and an allowed one only to its agent", async () => {
    const offered = async (gateway: PodGateway, soul: string) => {
      const before = stub.chatRequests().length;
      expect((await gateway.chat("hello")).status).toBe(200);
      const request = stub.chatRequests().slice(before)[0];
      expect(JSON.stringify(request?.messages)).toContain(soul);
      return request?.tools?.map((t) => t.function.name) ?? [];
    };
    const researcherTools = await offered(researcher, "RESEARCHER-SOUL");
    const coderTools = await offered(coder, "CODER-SOUL");
    for (const tool of RUNTIME_AND_FS) expect(researcherTools).not.toContain(tool);
    expect(researcherTools).toContain("tool_search"); // still a working agent
    expect(coderTools).toEqual(expect.arrayContaining(["exec", "process", "read", "write", "edit"]));
  });

  it("refuses the researcher's direct call to a denied tool, and runs nothing", async () => {
    const { toolResult, reply } = await turnWithToolCall(researcher, execCall("researcher"));
    expect(toolResult).toMatch(/Tool exec not found/);
    expect(reply).not.toContain("EXEC-RAN");
    expect(existsSync(join(`/proc/${await researcher.pid()}/root`, marker("researcher")))).toBe(false);
  });

  it("does not list a denied tool in tool_search, and refuses it through tool_call", async () => {
    const search = await turnWithToolCall(researcher, { name: "tool_search", arguments: { query: "exec shell" } });
    expect(search.toolResult).not.toContain("openclaw:core:exec");
    const viaCatalog = await turnWithToolCall(researcher, {
      name: "tool_call",
      arguments: { id: "openclaw:core:exec", args: execCall("researcher").arguments },
    });
    expect(viaCatalog.toolResult).toMatch(/Unknown tool id: openclaw:core:exec/);
    expect(existsSync(join(`/proc/${await researcher.pid()}/root`, marker("researcher")))).toBe(false);
  });

  it("runs the same call for the agent whose policy allows it", async () => {
    const { toolResult } = await turnWithToolCall(coder, execCall("coder"));
    expect(toolResult).toContain("EXEC-RAN-coder");
    expect(existsSync(join(`/proc/${await coder.pid()}/root`, marker("coder")))).toBe(true);
  });
});
