/**
 * A stub OpenClaw gateway for pod-network tests and benchmarks: what the operator sees of a gateway, and
 * nothing else. Run as a script (`node stub-gateway.ts`) inside a pod sandbox; it imports only node: modules,
 * because the pod agent copies this one file into the pod.
 *
 * - GET /readyz, /healthz, /startupz: 200, no token.
 * - POST /v1/chat/completions: Bearer OPENCLAW_GATEWAY_TOKEN, else 401. After STUB_DELAY_MS it answers
 *   STUB_REPLY, or "ok:" + the last user message, with `usage`. Requests are counted per `user` (the body's
 *   `user` field, else the last user message).
 * - GET /stats: {requests, byUser, traceparents} (the traceparent header of each chat request, "" when absent).
 * - With STUB_DELEGATE_URL (the operator's delegation endpoint) and STUB_DELEGATE_TO, each chat request first
 *   delegates "<message> / <to>" over REST with the gateway token, as parent the Delegation named in the
 *   operator's system message, in team STUB_DELEGATE_TEAM; it answers "ok:<message> <- <the child's result>".
 *   STUB_FORWARD_TRACEPARENT=1 passes the request's traceparent on, as an instrumented agent would.
 * Env: OPENCLAW_GATEWAY_TOKEN (required), STUB_DELAY_MS, STUB_REPLY, STUB_PORT (default 18789), STUB_HOST (0.0.0.0).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubGatewayOptions {
  token: string;
  port?: number;
  host?: string;
  delayMs?: number;
  reply?: string;
  delegate?: { url: string; to: string; team?: string | undefined; forwardTraceparent: boolean };
}

interface ChatBody {
  model?: unknown;
  user?: unknown;
  messages?: { role?: unknown; content?: unknown }[];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Delegates `task` through the operator's REST endpoint and returns the child's result. */
async function delegateOn(
  options: StubGatewayOptions,
  delegate: NonNullable<StubGatewayOptions["delegate"]>,
  task: string,
  parent: string | undefined,
  traceparent: string | undefined,
): Promise<string> {
  const response = await fetch(`${delegate.url}/v1/delegations`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${options.token}`,
      "content-type": "application/json",
      ...(delegate.forwardTraceparent && traceparent && { traceparent }),
    },
    body: JSON.stringify({ agent: delegate.to, task, ...(delegate.team && { team: delegate.team }), parent }),
  });
  const body = (await response.json()) as { result?: string; error?: { message?: string } };
  if (!response.ok) throw new Error(`delegating to ${delegate.to}: ${response.status} ${body.error?.message}`);
  return body.result ?? "";
}

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string })?.text ?? "").join("");
  return "";
}

export function startStubGateway(options: StubGatewayOptions): Promise<Server> {
  const byUser = new Map<string, number>();
  const traceparents: string[] = [];
  let requests = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && (path === "/readyz" || path === "/healthz" || path === "/startupz")) {
      return send(res, 200, { ok: true, status: "live" });
    }
    if (req.method === "GET" && path === "/stats") {
      return send(res, 200, { requests, byUser: Object.fromEntries(byUser), traceparents });
    }
    if (req.method === "POST" && path === "/v1/chat/completions") {
      if (req.headers.authorization !== `Bearer ${options.token}`) {
        req.resume();
        return send(res, 401, { error: { message: "Unauthorized", type: "unauthorized" } });
      }
      readBody(req)
        .then(async (raw) => {
          const body = JSON.parse(raw || "{}") as ChatBody;
          const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
          const message = text(lastUser?.content);
          const user = typeof body.user === "string" ? body.user : message;
          requests++;
          byUser.set(user, (byUser.get(user) ?? 0) + 1);
          const traceparent = typeof req.headers.traceparent === "string" ? req.headers.traceparent : undefined;
          traceparents.push(traceparent ?? "");
          if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
          let content = options.reply ?? `ok:${message}`;
          if (options.delegate) {
            const system = (body.messages ?? []).map((m) => (m.role === "system" ? text(m.content) : "")).join("\n");
            const parent = /working on Delegation (\S+)/.exec(system)?.[1];
            const task = `${message} / ${options.delegate.to}`;
            content += ` <- ${await delegateOn(options, options.delegate, task, parent, traceparent)}`;
          }
          send(res, 200, {
            id: `chatcmpl-stub-${requests}`,
            object: "chat.completion",
            created: Math.floor(Date.now() / 1000),
            model: typeof body.model === "string" ? body.model : "openclaw/default",
            choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
            usage: {
              prompt_tokens: message.length,
              completion_tokens: content.length,
              total_tokens: message.length + content.length,
            },
          });
        })
        .catch((error: unknown) =>
          send(res, 400, { error: { message: String(error), type: "invalid_request_error" } }),
        );
      return;
    }
    req.resume();
    send(res, 404, { error: { message: "Not Found", type: "not_found" } });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 18789, options.host ?? "0.0.0.0", () => resolve(server));
  });
}

async function main(): Promise<void> {
  const token = process.env.OPENCLAW_GATEWAY_TOKEN;
  // A plain Error, not a HarnessError: this file runs alone in the pod and imports only node: modules.
  if (!token) throw new Error("OPENCLAW_GATEWAY_TOKEN is not set");
  const server = await startStubGateway({
    token,
    port: Number(process.env.STUB_PORT ?? 18789),
    host: process.env.STUB_HOST ?? "0.0.0.0",
    delayMs: Number(process.env.STUB_DELAY_MS ?? 0),
    reply: process.env.STUB_REPLY,
    ...(process.env.STUB_DELEGATE_URL &&
      process.env.STUB_DELEGATE_TO && {
        delegate: {
          url: process.env.STUB_DELEGATE_URL,
          to: process.env.STUB_DELEGATE_TO,
          team: process.env.STUB_DELEGATE_TEAM,
          forwardTraceparent: process.env.STUB_FORWARD_TRACEPARENT === "1",
        },
      }),
  });
  const { address, port } = server.address() as AddressInfo;
  process.stdout.write(`stub gateway listening on ${address}:${port}\n`);
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`stub gateway: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
