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
 *   delegates "<message> / <to>" over REST with CLAWCREW_DELEGATION_TOKEN, as parent the Delegation named in the
 *   operator's system message, in team STUB_DELEGATE_TEAM; it answers "ok:<message> <- <the child's result>".
 *   STUB_FORWARD_TRACEPARENT=1 passes the request's traceparent on, as an instrumented agent would.
 * - Faults, for the fault soak (bench/soak.ts): a task containing `stub-fault=<mode>` or `stub-fault=<mode>/<n>`
 *   (only the first n requests of that user), or STUB_FAULT=<mode> for every request of the pod. Modes:
 *   hang (never answers), close (headers and half a body, then the connection is destroyed), 500, 429 (with
 *   Retry-After: 1), badjson (200 with a body that is not JSON), huge (200 with a valid reply of
 *   STUB_HUGE_BYTES, default 1.5 MB: over the operator's cap).
 * - A task containing `stub-delay=<ms>` is answered after that delay instead of STUB_DELAY_MS.
 * - STUB_REPORT_URL: each chat request is also POSTed there as {user, pod} before it is answered, so that a
 *   request served by a pod deleted since is still counted; the answer's {count} (that user's requests on
 *   every pod) is what `/<n>` counts, so that a retry on another pod is not faulted again.
 * Env: OPENCLAW_GATEWAY_TOKEN (required), CLAWCREW_DELEGATION_TOKEN (required with STUB_DELEGATE_URL), STUB_DELAY_MS, STUB_REPLY, STUB_PORT (default 18789), STUB_HOST
 * (0.0.0.0), STUB_FAULT, STUB_HUGE_BYTES, STUB_REPORT_URL, STUB_POD (the pod's name, for the report),
 * STUB_DELEGATE_URL, STUB_DELEGATE_TO, STUB_DELEGATE_TEAM, STUB_FORWARD_TRACEPARENT.
 */
import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubGatewayOptions {
  token: string;
  port?: number;
  host?: string;
  delayMs?: number;
  reply?: string;
  /** A fault for every request (see the module doc). */
  fault?: StubFault;
  /** Size of the "huge" reply's content. Default 1.5 MB. */
  hugeBytes?: number;
  /** Where each chat request is reported (see the module doc). */
  reportUrl?: string;
  pod?: string;
  /** `token` is the agent's delegation token: the endpoint refuses its gateway token. */
  delegate?: { url: string; token: string; to: string; team?: string | undefined; forwardTraceparent: boolean };
}

export const STUB_FAULTS = ["hang", "close", "500", "429", "badjson", "huge"] as const;
export type StubFault = (typeof STUB_FAULTS)[number];

/** The fault a task asks for: `stub-fault=<mode>` (every time) or `stub-fault=<mode>/<n>` (the first n). */
export function faultOf(task: string): { fault: StubFault; times: number } | undefined {
  const match = /\bstub-fault=([a-z0-9]+)(?:\/(\d+))?/.exec(task);
  const fault = match?.[1] as StubFault | undefined;
  if (!fault || !STUB_FAULTS.includes(fault)) return undefined;
  return { fault, times: match?.[2] ? Number(match[2]) : Number.POSITIVE_INFINITY };
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
  delegate: NonNullable<StubGatewayOptions["delegate"]>,
  task: string,
  parent: string | undefined,
  traceparent: string | undefined,
): Promise<string> {
  const response = await fetch(`${delegate.url}/v1/delegations`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${delegate.token}`,
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

/** Answers with `fault` instead of a chat completion. */
function injectFault(res: ServerResponse, fault: StubFault, completion: () => object, hugeBytes: number): void {
  switch (fault) {
    case "hang":
      return; // the operator's timeout (or its abort) closes the connection
    case "close": {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": 4096 });
      res.write('{"id":"chatcmpl-stub","choices":[{"index":0,"message":{"role":"assistant","content":"half');
      setTimeout(() => res.destroy(), 10);
      return;
    }
    case "500":
      send(res, 500, { error: { message: "stub fault: internal error", type: "server_error" } });
      return;
    case "429": {
      const text = JSON.stringify({ error: { message: "stub fault: rate limited", type: "rate_limit" } });
      res.writeHead(429, { "content-type": "application/json", "retry-after": "1", "content-length": text.length });
      res.end(text);
      return;
    }
    case "badjson": {
      const text = '{"id":"chatcmpl-stub","choices":[{"message":{"content":"not closed"';
      res.writeHead(200, { "content-type": "application/json", "content-length": text.length });
      res.end(text);
      return;
    }
    case "huge": {
      const body = completion() as { choices: { message: { content: string } }[] };
      body.choices[0]!.message.content = "x".repeat(hugeBytes);
      send(res, 200, body);
      return;
    }
  }
}

/**
 * POSTs one request's record to the soak's collector; resolves with how many requests of that user the
 * collector has seen across every pod (undefined without a collector, or when the report fails).
 */
function reporter(url: string | undefined): (record: object) => Promise<number | undefined> {
  if (!url) return async () => undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  return (record) =>
    new Promise((resolve) => {
      const text = JSON.stringify(record);
      const req = request(url, {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) },
        timeout: 5000,
      });
      req.on("response", (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("end", () => {
          const count = Number(
            (JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { count?: unknown }).count,
          );
          resolve(Number.isInteger(count) ? count : undefined);
        });
      });
      req.on("timeout", () => req.destroy());
      req.on("error", (error) => {
        process.stderr.write(`stub gateway: report failed: ${String(error)}\n`);
        resolve(undefined);
      });
      req.end(text);
    });
}

export function startStubGateway(options: StubGatewayOptions): Promise<Server> {
  const byUser = new Map<string, number>();
  const report = reporter(options.reportUrl);
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
          const local = (byUser.get(user) ?? 0) + 1;
          byUser.set(user, local);
          const traceparent = typeof req.headers.traceparent === "string" ? req.headers.traceparent : undefined;
          traceparents.push(traceparent ?? "");
          // With a collector, "the first n requests" counts those of every pod, so a retry elsewhere is not faulted again.
          const seen = (await report({ user, pod: options.pod })) ?? local;
          const asked = faultOf(message);
          const fault = asked && seen <= asked.times ? asked.fault : options.fault;
          const delayMs = Number(/\bstub-delay=(\d+)/.exec(message)?.[1] ?? options.delayMs ?? 0);
          if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
          let content = options.reply ?? `ok:${message}`;
          if (options.delegate && !fault) {
            const system = (body.messages ?? []).map((m) => (m.role === "system" ? text(m.content) : "")).join("\n");
            const parent = /working on Delegation (\S+)/.exec(system)?.[1];
            const task = `${message} / ${options.delegate.to}`;
            content += ` <- ${await delegateOn(options.delegate, task, parent, traceparent)}`;
          }
          const completion = () => ({
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
          if (fault) return injectFault(res, fault, completion, options.hugeBytes ?? 1_500_000);
          send(res, 200, completion());
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
  const delegationToken = process.env.CLAWCREW_DELEGATION_TOKEN;
  if (process.env.STUB_DELEGATE_URL && !delegationToken) {
    throw new Error("STUB_DELEGATE_URL is set but CLAWCREW_DELEGATION_TOKEN is not (is the agent a team's delegator?)");
  }
  const server = await startStubGateway({
    token,
    port: Number(process.env.STUB_PORT ?? 18789),
    host: process.env.STUB_HOST ?? "0.0.0.0",
    delayMs: Number(process.env.STUB_DELAY_MS ?? 0),
    reply: process.env.STUB_REPLY,
    fault: faultOf(`stub-fault=${process.env.STUB_FAULT ?? ""}`)?.fault,
    hugeBytes: process.env.STUB_HUGE_BYTES ? Number(process.env.STUB_HUGE_BYTES) : undefined,
    reportUrl: process.env.STUB_REPORT_URL,
    pod: process.env.STUB_POD,
    ...(process.env.STUB_DELEGATE_URL &&
      process.env.STUB_DELEGATE_TO && {
        delegate: {
          url: process.env.STUB_DELEGATE_URL,
          token: delegationToken ?? "",
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
