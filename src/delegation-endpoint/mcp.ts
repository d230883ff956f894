/**
 * A stateless MCP server over streamable HTTP (JSON responses, no sessions) with two tools,
 * `delegate` and `list_team`. Small by design: the operator speaks only what OpenClaw's MCP client needs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { errorFields, type Logger } from "../runtime/log.ts";
import { abortOnClose } from "./abort-on-close.ts";
import { TooManyRequestsError } from "./caller-limits.ts";
import { type Caller, DelegateRequest, type DelegationService, EndpointError } from "./service.ts";

/** JSON-RPC messages in one batch; each can create a Delegation. */
export const MAX_BATCH = 16;

export const MCP_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] as const;
const SERVER_INFO = { name: "clawcrew", version: "0.1.0" };

const JsonRpcMessage = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.string(), z.number()]).optional(),
  method: z.string(),
  params: z.record(z.string(), z.unknown()).optional(),
});
type JsonRpcMessage = z.infer<typeof JsonRpcMessage>;

const TOOLS = [
  {
    name: "delegate",
    description:
      "Hand a task to a member of your team and wait for the result. Give `agent` (a member's name) or " +
      "`capability`; with neither, the team's default member takes it. Pass `parent` when you work on a delegated task.",
    inputSchema: z.toJSONSchema(DelegateRequest, { io: "input" }),
  },
  {
    name: "list_team",
    description:
      "List your teams: each member's role, description, capabilities and readiness, and whom you may delegate to.",
    inputSchema: { type: "object", properties: {} },
  },
];

type Reply = { result: unknown } | { error: { code: number; message: string } };

async function call(
  message: JsonRpcMessage,
  caller: Caller,
  service: DelegationService,
  signal: AbortSignal,
): Promise<Reply> {
  switch (message.method) {
    case "initialize": {
      const asked = message.params?.protocolVersion;
      const version = MCP_PROTOCOL_VERSIONS.find((v) => v === asked) ?? MCP_PROTOCOL_VERSIONS[0];
      return {
        result: { protocolVersion: version, capabilities: { tools: { listChanged: false } }, serverInfo: SERVER_INFO },
      };
    }
    case "ping":
      return { result: {} };
    case "tools/list":
      return { result: { tools: TOOLS } };
    case "tools/call":
      return { result: await callTool(message.params ?? {}, caller, service, signal) };
    default:
      return { error: { code: -32601, message: `method not found: ${message.method}` } };
  }
}

async function callTool(
  params: Record<string, unknown>,
  caller: Caller,
  service: DelegationService,
  signal: AbortSignal,
) {
  const text = (t: string, isError = false) => ({
    content: [{ type: "text", text: t }],
    ...(isError && { isError: true }),
  });
  try {
    if (params.name === "list_team") {
      const team = await service.listTeam(caller);
      return { ...text(JSON.stringify(team, null, 2)), structuredContent: team };
    }
    if (params.name !== "delegate") return text(`unknown tool ${String(params.name)}`, true);
    const parsed = DelegateRequest.safeParse(params.arguments ?? {});
    if (!parsed.success) {
      return text(
        `invalid arguments: ${parsed.error.issues.map((i) => `${i.path.join(".") || "arguments"}: ${i.message}`).join("; ")}`,
        true,
      );
    }
    const outcome = await service.delegate(caller, parsed.data, signal);
    if (outcome.phase === "Succeeded") return { ...text(outcome.result ?? ""), structuredContent: outcome };
    return {
      ...text(
        `Delegation ${outcome.delegation} failed (${outcome.reason ?? "Failed"}): ${outcome.message ?? ""}`,
        true,
      ),
      structuredContent: outcome,
    };
  } catch (error) {
    if (error instanceof TooManyRequestsError) {
      return text(`refused (${error.code}): ${error.message}; retry after ${error.retryAfterSeconds} s`, true);
    }
    if (error instanceof EndpointError) return text(`refused (${error.code}): ${error.message}`, true);
    throw error;
  }
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** Handles one POST to the MCP endpoint: a JSON-RPC message or batch. */
export async function handleMcp(
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  caller: Caller,
  service: DelegationService,
  logger: Logger,
  shutdown?: AbortSignal,
): Promise<void> {
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return send(res, 405, {
      jsonrpc: "2.0",
      error: { code: -32000, message: "this server has no SSE stream; POST only" },
      id: null,
    });
  }
  const signal = abortOnClose(res, shutdown);
  const batch = Array.isArray(body);
  const messages = batch ? body : [body];
  if (messages.length > MAX_BATCH) {
    return send(res, 400, {
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: `a batch of ${messages.length} messages is over the limit of ${MAX_BATCH}` },
    });
  }
  const replies: unknown[] = [];
  for (const raw of messages) {
    const parsed = JsonRpcMessage.safeParse(raw);
    if (!parsed.success) {
      replies.push({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid JSON-RPC request" } });
      continue;
    }
    const message = parsed.data;
    if (message.id === undefined) continue; // a notification: nothing to answer
    try {
      replies.push({ jsonrpc: "2.0", id: message.id, ...(await call(message, caller, service, signal)) });
    } catch (error) {
      // As REST does: the detail (API errors, paths, names in other namespaces) goes to the log only.
      logger.error(
        { ...errorFields(error), method: message.method, namespace: caller.namespace, agent: caller.agent },
        "MCP call failed",
      );
      replies.push({ jsonrpc: "2.0", id: message.id, error: { code: -32603, message: "internal error" } });
    }
  }
  if (replies.length === 0) return send(res, 202);
  if (res.destroyed) return;
  send(res, 200, batch ? replies : replies[0]);
}
