/**
 * A stub OpenAI-compatible LLM for tests, on 127.0.0.1 or `host` (e.g. the pod network's bridge address):
 * GET /v1/models and POST /v1/chat/completions, streaming (SSE) and not. Replies are scripted (a script may
 * return a Promise to hold an answer); every request is recorded.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ToolCall {
  /** Generated when omitted. OpenClaw keeps only the letters and digits of an id. */
  id?: string;
  name: string;
  arguments: unknown;
}

/** Token counts the stub reports for one call, in OpenAI's fields. */
export interface StubUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * What the model answers: text, or tool calls (finish_reason "tool_calls"), with the usage it reports
 * (default 10 prompt + 5 completion tokens; null reports none, as some OpenAI-compatible servers do).
 */
export type StubReply = ({ content: string } | { toolCalls: ToolCall[] }) & { usage?: StubUsage | null };

export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  tools?: { type: string; function: { name: string } }[];
  [key: string]: unknown;
}

/**
 * Decides the reply to each chat request; `turn` counts chat requests from 0. A Promise holds the answer
 * until it settles (a rejection answers 500).
 */
export type Script = (request: ChatRequest, turn: number) => StubReply | Promise<StubReply>;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

export interface StubLlm {
  /** Base URL for an OpenAI-compatible provider: `http://<host>:<port>/v1`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** The bodies of the chat completion requests received so far. */
  chatRequests(): ChatRequest[];
  /** Replaces the script (a fixed reply, or a function of the request). */
  script(reply: StubReply | Script): void;
  close(): Promise<void>;
}

export interface StubLlmOptions {
  /** Model ids listed by GET /v1/models. */
  models?: string[];
  reply?: StubReply | Script;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on. Default 0: any free port. */
  port?: number;
}

export async function startStubLlm({
  models = ["stub-model"],
  reply = { content: "stub reply" },
  host = "127.0.0.1",
  port: listenPort = 0,
}: StubLlmOptions = {}): Promise<StubLlm> {
  const requests: RecordedRequest[] = [];
  let script: Script = toScript(reply);
  let turn = 0;

  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        const body = raw ? (JSON.parse(raw) as unknown) : undefined;
        const path = (req.url ?? "/").split("?")[0]!;
        requests.push({ method: req.method ?? "GET", path, headers: req.headers, body });
        if (req.method === "GET" && path === "/v1/models") {
          return json(res, 200, {
            object: "list",
            data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "stub" })),
          });
        }
        if (req.method === "POST" && path === "/v1/chat/completions") {
          const request = body as ChatRequest;
          return Promise.resolve(script(request, turn++)).then(
            (reply) => answer(res, request, reply),
            (error: unknown) => json(res, 500, { error: { message: String(error), type: "server_error" } }),
          );
        }
        json(res, 404, { error: { message: `stub LLM: no route ${req.method} ${path}`, type: "not_found" } });
      })
      .catch((error: unknown) => json(res, 400, { error: { message: String(error), type: "invalid_request_error" } }));
  });
  await new Promise<void>((resolve) => server.listen(listenPort, host, resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    requests,
    chatRequests: () =>
      requests
        .filter((r) => r.path === "/v1/chat/completions" && r.method === "POST")
        .map((r) => r.body as ChatRequest),
    script: (next) => {
      script = toScript(next);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function toScript(reply: StubReply | Script): Script {
  return typeof reply === "function" ? reply : () => reply;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export const STUB_USAGE: StubUsage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };

function answer(res: ServerResponse, request: ChatRequest, reply: StubReply): void {
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = request.model;
  const toolCalls =
    "toolCalls" in reply
      ? reply.toolCalls.map((call) => ({
          id: call.id ?? `call${randomUUID().replaceAll("-", "")}`,
          type: "function" as const,
          function: { name: call.name, arguments: JSON.stringify(call.arguments) },
        }))
      : undefined;
  const content = "content" in reply ? reply.content : null;
  const finishReason = toolCalls ? "tool_calls" : "stop";
  const usage = reply.usage === undefined ? STUB_USAGE : reply.usage;

  if (!request.stream) {
    json(res, 200, {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content, ...(toolCalls && { tool_calls: toolCalls }) },
          finish_reason: finishReason,
        },
      ],
      ...(usage && { usage }),
    });
    return;
  }

  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices, ...extra })}\n\n`,
    );
  chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
  if (content) {
    // A few pieces, as a real model streams.
    for (const piece of content.match(/[\s\S]{1,16}/g) ?? []) {
      chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]);
    }
  }
  toolCalls?.forEach((call, index) => {
    chunk([{ index: 0, delta: { tool_calls: [{ index, ...call }] }, finish_reason: null }]);
  });
  chunk([{ index: 0, delta: {}, finish_reason: finishReason }]);
  const streamOptions = request.stream_options as { include_usage?: boolean } | undefined;
  if (streamOptions?.include_usage && usage) chunk([], { usage });
  res.end("data: [DONE]\n\n");
}
