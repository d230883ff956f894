// The endpoint's protocol layer, driven by the official MCP SDK client and plain fetch.
import { type AddressInfo, connect, type Socket } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TooManyRequestsError } from "../../../src/delegation-endpoint/caller-limits.ts";
import { MAX_BATCH } from "../../../src/delegation-endpoint/mcp.ts";
import { createDelegationServer } from "../../../src/delegation-endpoint/server.ts";
import {
  type Caller,
  type DelegateOutcome,
  type DelegateRequest,
  type DelegationService,
  EndpointError,
} from "../../../src/delegation-endpoint/service.ts";

const calls: { caller: Caller; request: DelegateRequest; signal: AbortSignal }[] = [];
const cancelled: { name: string; keep: boolean }[] = [];
const service: DelegationService = {
  authenticate: (token) => (token === "lead-token" ? { namespace: "ns", agent: "ceo" } : undefined),
  async delegate(caller, request, signal, options): Promise<DelegateOutcome> {
    calls.push({ caller, request, signal });
    if (request.agent === "slow") {
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      throw new EndpointError(499, "Cancelled", "the caller went away");
    }
    if (options?.wait === false) return { delegation: "ceo-3", phase: "Pending" };
    if (request.agent === "ceo") throw new EndpointError(403, "Forbidden", "in team company only ceo may delegate");
    if (request.agent === "busy") throw new TooManyRequestsError("agent ns/ceo creates Delegations faster than 5/s", 3);
    if (request.agent === "broken")
      throw new Error('secrets "x" is forbidden: User "system:serviceaccount:y" cannot get');
    if (request.agent === "flaky")
      return { delegation: "ceo-2", phase: "Failed", reason: "TimedOut", message: "after 600 s" };
    return {
      delegation: "ceo-1",
      phase: "Succeeded",
      agent: request.agent,
      result: `done: ${request.task}`,
      usage: { totalTokens: 3 },
    };
  },
  listTeam: async (caller) => ({ caller: caller.agent, teams: [{ name: "company", members: ["researcher"] }] }),
  async get(_caller, name, { wait }) {
    if (name !== "ceo-1") throw new EndpointError(404, "NotFound", `no Delegation ${name} made by ceo`);
    return wait ? { delegation: name, phase: "Succeeded", result: "done" } : { delegation: name, phase: "Running" };
  },
  async cancel(_caller, name, { keep }) {
    cancelled.push({ name, keep });
  },
};

let base: string;
const server = createDelegationServer(service, pino({ level: "silent" }));

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function mcpClient(token: string) {
  const client = new Client({ name: "test", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

describe("MCP", () => {
  it("lists the delegate and list_team tools with input schemas", async () => {
    const client = await mcpClient("lead-token");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["delegate", "list_team"]);
    const delegate = tools[0]!;
    expect(delegate.inputSchema.required).toEqual(["task"]);
    expect(Object.keys(delegate.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(["agent", "capability", "task", "timeoutSeconds", "parent"]),
    );
    await client.close();
  });

  it("delegates as the authenticated caller and returns the result as text", async () => {
    const client = await mcpClient("lead-token");
    const result = await client.callTool({ name: "delegate", arguments: { agent: "researcher", task: "Task T-7" } });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: "text", text: "done: Task T-7" }]);
    expect(result.structuredContent).toMatchObject({ delegation: "ceo-1", phase: "Succeeded" });
    expect(calls.at(-1)).toMatchObject({
      caller: { namespace: "ns", agent: "ceo" },
      request: { agent: "researcher", task: "Task T-7" },
    });
    expect(calls.at(-1)!.request).toEqual({ agent: "researcher", task: "Task T-7" });
    await client.close();
  });

  it("answers a refusal, a failure and bad arguments as tool errors the model can read", async () => {
    const client = await mcpClient("lead-token");
    const refused = await client.callTool({ name: "delegate", arguments: { agent: "ceo", task: "x" } });
    expect(refused.isError).toBe(true);
    expect(refused.content).toEqual([
      { type: "text", text: "refused (Forbidden): in team company only ceo may delegate" },
    ]);
    const failed = await client.callTool({ name: "delegate", arguments: { agent: "flaky", task: "x" } });
    expect(failed.isError).toBe(true);
    expect((failed.content as { text: string }[])[0]!.text).toBe("Delegation ceo-2 failed (TimedOut): after 600 s");
    const before = calls.length;
    const bad = await client.callTool({ name: "delegate", arguments: { agent: "a", capability: "b", task: " " } });
    expect(bad.isError).toBe(true);
    expect((bad.content as { text: string }[])[0]!.text).toMatch(
      /invalid arguments: .*task must not be blank.*capability: give agent or capability, not both/,
    );
    expect(calls.length).toBe(before);
    await client.close();
  });

  it("answers an unexpected failure with a generic error, as REST does, keeping the detail out of the reply", async () => {
    const response = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { authorization: "Bearer lead-token", "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "delegate", arguments: { agent: "broken", task: "x" } },
      }),
    });
    const reply = await response.json();
    expect(reply).toEqual({ jsonrpc: "2.0", id: 7, error: { code: -32603, message: "internal error" } });
  });

  it("refuses a batch over the limit as a whole, calling nothing", async () => {
    const before = calls.length;
    const call = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "delegate", arguments: { agent: "researcher", task: "x" } },
    });
    const response = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { authorization: "Bearer lead-token", "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(Array.from({ length: MAX_BATCH + 1 }, (_, i) => call(i))),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
      `a batch of ${MAX_BATCH + 1} messages is over the limit of ${MAX_BATCH}`,
    );
    expect(calls.length).toBe(before);
  });

  it("tells the model when it is over its rate, and when to retry", async () => {
    const client = await mcpClient("lead-token");
    const busy = await client.callTool({ name: "delegate", arguments: { agent: "busy", task: "x" } });
    expect(busy.isError).toBe(true);
    expect((busy.content as { text: string }[])[0]!.text).toBe(
      "refused (TooManyRequests): agent ns/ceo creates Delegations faster than 5/s; retry after 3 s",
    );
    await client.close();
  });

  it("serves list_team", async () => {
    const client = await mcpClient("lead-token");
    const result = await client.callTool({ name: "list_team", arguments: {} });
    expect(result.structuredContent).toEqual({ caller: "ceo", teams: [{ name: "company", members: ["researcher"] }] });
    await client.close();
  });

  it("refuses a client without a valid token before any MCP exchange", async () => {
    await expect(mcpClient("wrong")).rejects.toThrow(/401|Unauthenticated/);
  });

  it("answers GET with 405: the server has no SSE stream", async () => {
    const res = await fetch(`${base}/mcp`, { headers: { Authorization: "Bearer lead-token" } });
    expect(res.status).toBe(405);
  });
});

describe("REST", () => {
  const post = (body: unknown, token = "lead-token") =>
    fetch(`${base}/v1/delegations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("creates, waits and returns the outcome", async () => {
    const res = await post({ agent: "researcher", task: "Summarise" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ delegation: "ceo-1", phase: "Succeeded", result: "done: Summarise" });
  });

  it.each([
    ["no token", { agent: "researcher", task: "x" }, "nope", 401, "Unauthenticated"],
    ["a refusal", { agent: "ceo", task: "x" }, "lead-token", 403, "Forbidden"],
    ["a task over 64 KiB", { agent: "researcher", task: "€".repeat(22000) }, "lead-token", 400, "Invalid"],
    ["malformed JSON", "{", "lead-token", 400, "Invalid"],
  ])("answers %s with a clear error", async (_, body, token, status, code) => {
    const res = await post(body, token);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it("answers 429 with Retry-After over a caller's limit", async () => {
    const response = await fetch(`${base}/v1/delegations`, {
      method: "POST",
      headers: { authorization: "Bearer lead-token", "content-type": "application/json" },
      body: JSON.stringify({ agent: "busy", task: "x" }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("3");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("TooManyRequests");
  });

  it("refuses bodies over the size limit", async () => {
    const res = await post({ agent: "researcher", task: "x".repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(413);
  });

  it("serves the caller's team view", async () => {
    const res = await fetch(`${base}/v1/team`, { headers: { Authorization: "Bearer lead-token" } });
    expect(await res.json()).toMatchObject({ caller: "ceo" });
  });

  it("creates without waiting on wait=false", async () => {
    const res = await fetch(`${base}/v1/delegations?wait=false`, {
      method: "POST",
      headers: { Authorization: "Bearer lead-token", "content-type": "application/json" },
      body: JSON.stringify({ agent: "researcher", task: "Later" }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ delegation: "ceo-3", phase: "Pending" });
  });

  it("reads, waits for and cancels the caller's own Delegations", async () => {
    const auth = { Authorization: "Bearer lead-token" };
    expect(await (await fetch(`${base}/v1/delegations/ceo-1`, { headers: auth })).json()).toMatchObject({
      phase: "Running",
    });
    expect(await (await fetch(`${base}/v1/delegations/ceo-1?wait=true`, { headers: auth })).json()).toMatchObject({
      phase: "Succeeded",
    });
    expect((await fetch(`${base}/v1/delegations/someone-else`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/v1/delegations/ceo-1?keep=true`, { method: "DELETE", headers: auth })).status).toBe(
      202,
    );
    expect((await fetch(`${base}/v1/delegations/ceo-1`, { method: "DELETE", headers: auth })).status).toBe(202);
    expect(cancelled).toEqual([
      { name: "ceo-1", keep: true },
      { name: "ceo-1", keep: false },
    ]);
  });
});

describe("the caller's signal", () => {
  const post = (agent: string, signal?: AbortSignal) =>
    fetch(`${base}/v1/delegations`, {
      method: "POST",
      headers: { Authorization: "Bearer lead-token", "content-type": "application/json" },
      body: JSON.stringify({ agent, task: "t" }),
      ...(signal && { signal }),
    });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it("is aborted when the caller goes away before its answer", async () => {
    const gone = new AbortController();
    const response = post("slow", gone.signal).catch((error: unknown) => error);
    while (calls.at(-1)?.request.agent !== "slow") await settle();
    gone.abort();
    await response;
    await settle();
    expect(calls.at(-1)!.signal.aborted).toBe(true);
  });

  it("is left alone once the answer was sent", async () => {
    const res = await post("researcher");
    expect(res.status).toBe(200);
    await res.text();
    await settle();
    expect(calls.at(-1)!.request.agent).toBe("researcher");
    expect(calls.at(-1)!.signal.aborted).toBe(false);
  });
});

describe("slow and flooding clients", () => {
  /** A server of its own, with small limits, on 127.0.0.1. */
  async function limitedServer(options: { headersTimeoutMs?: number; maxConnectionsPerSource?: number }) {
    const limited = createDelegationServer(service, pino({ level: "silent" }), options);
    await new Promise<void>((resolve) => limited.listen(0, "127.0.0.1", resolve));
    return { limited, port: (limited.address() as AddressInfo).port };
  }
  const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const opened = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(socket));
      socket.once("error", reject);
    });

  it("closes a connection whose headers do not arrive within the headers timeout", async () => {
    const { limited, port } = await limitedServer({ headersTimeoutMs: 300 });
    try {
      const slow = await opened(port);
      slow.write("GET /v1/team HTTP/1.1\r\nHost: x\r\n"); // and never the blank line
      const replies: Buffer[] = [];
      slow.on("data", (chunk: Buffer) => replies.push(chunk));
      await closed(slow);
      // Node answers 408 Request Timeout before it closes the connection.
      expect(Buffer.concat(replies).toString()).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      limited.closeAllConnections();
      await new Promise((resolve) => limited.close(resolve));
    }
  });

  it("closes connections past the per-address cap, and serves again once one closes", async () => {
    const { limited, port } = await limitedServer({ maxConnectionsPerSource: 3 });
    try {
      const held = await Promise.all([opened(port), opened(port), opened(port)]);
      const fourth = await opened(port);
      await closed(fourth);
      expect(held.every((s) => !s.destroyed)).toBe(true);
      held[0]!.destroy();
      await closed(held[0]!);
      const response = await fetch(`http://127.0.0.1:${port}/v1/team`, {
        headers: { authorization: "Bearer lead-token" },
      });
      expect(response.status).toBe(200);
      for (const s of held) s.destroy();
    } finally {
      limited.closeAllConnections();
      await new Promise((resolve) => limited.close(resolve));
    }
  });
});
