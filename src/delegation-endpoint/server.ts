/**
 * The delegation endpoint: MCP for OpenClaw leads at /mcp, and REST for scripts at /v1. Every request
 * authenticates with an agent's delegation token (never its gateway token). A refused request creates nothing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../runtime/log.ts";
import { withIncomingTrace } from "../tracing/spans.ts";
import { abortOnClose } from "./abort-on-close.ts";
import { TooManyRequestsError } from "./caller-limits.ts";
import { handleMcp } from "./mcp.ts";
import { type Caller, DelegateRequest, type DelegationService, EndpointError } from "./service.ts";

/** Bodies larger than this are refused (a task is at most 64 KiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function sendError(res: ServerResponse, error: EndpointError): void {
  // The rest of a too-large body stays unread: that connection cannot carry another request.
  if (error.status === 413) res.setHeader("connection", "close");
  if (error instanceof TooManyRequestsError) res.setHeader("retry-after", String(error.retryAfterSeconds));
  sendJson(res, error.status, { error: { code: error.code, message: error.message } });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new EndpointError(413, "TooLarge", `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new EndpointError(400, "Invalid", "request body is not JSON");
  }
}

function authenticate(req: IncomingMessage, service: DelegationService): Caller {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const caller = match ? service.authenticate(match[1]!) : undefined;
  if (!caller)
    throw new EndpointError(
      401,
      "Unauthenticated",
      "send an agent's delegation token (key delegation-token of its <agent>-token Secret) as Authorization: Bearer <token>",
    );
  return caller;
}

/** The request target as a URL; one that is not a path (`//`, found by the fuzz tests) is a 400, not a 500. */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? "/", "http://endpoint");
  } catch {
    throw new EndpointError(400, "Invalid", "the request target is not a valid path");
  }
}

const ONE_DELEGATION = /^\/v1\/delegations\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  service: DelegationService,
  logger: Logger,
  shutdown: AbortSignal | undefined,
): Promise<void> {
  const url = requestUrl(req);
  const path = url.pathname;
  const flag = (name: string, fallback: boolean) => (url.searchParams.get(name) ?? String(fallback)) === "true";
  const caller = authenticate(req, service);
  if (path === "/mcp")
    return handleMcp(
      req,
      res,
      req.method === "POST" ? await readJson(req) : undefined,
      caller,
      service,
      logger,
      shutdown,
    );
  if (path === "/v1/team" && req.method === "GET") return sendJson(res, 200, await service.listTeam(caller));
  if (path === "/v1/delegations" && req.method === "POST") {
    const parsed = DelegateRequest.safeParse((await readJson(req)) ?? {});
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
      throw new EndpointError(400, "Invalid", message);
    }
    const wait = flag("wait", true);
    const outcome = await service.delegate(caller, parsed.data, abortOnClose(res, shutdown), { wait });
    return sendJson(res, wait ? 200 : 202, outcome);
  }
  const one = ONE_DELEGATION.exec(path);
  if (one && req.method === "GET") {
    return sendJson(
      res,
      200,
      await service.get(caller, one[1]!, { wait: flag("wait", false), signal: abortOnClose(res, shutdown) }),
    );
  }
  if (one && req.method === "DELETE") {
    await service.cancel(caller, one[1]!, { keep: flag("keep", false) });
    return sendJson(res, 202, { delegation: one[1], cancelled: true });
  }
  throw new EndpointError(404, "NotFound", `no route ${req.method} ${path}`);
}

/** Connections the endpoint holds at once; past it new ones are closed (slow or flooding clients). */
export const MAX_CONNECTIONS = 1024;
/** Of those, from one address: one pod cannot take every connection and starve the others. */
export const MAX_CONNECTIONS_PER_SOURCE = 128;
/**
 * A client has this long to send its headers, and 30 s for its whole request (Node's defaults, 60 s
 * and 300 s, let each slow client hold a connection that long). Responses are not bounded: long polls.
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export interface DelegationServerOptions {
  /**
   * Aborted when the operator shuts down: pending waits are answered at once with its reason (an
   * EndpointError 503), so they do not hold the shutdown; the Delegations go on under the next leader.
   */
  shutdown?: AbortSignal;
  /** Overrides for tests. */
  headersTimeoutMs?: number;
  maxConnectionsPerSource?: number;
}

/** The 503 that pending long polls get when the operator shuts down. */
export function shuttingDownError(): EndpointError {
  return new EndpointError(
    503,
    "ShuttingDown",
    "this operator replica is shutting down; the Delegation goes on: ask again with GET /v1/delegations/<name>?wait=true",
  );
}

export function createDelegationServer(
  service: DelegationService,
  logger: Logger,
  options: DelegationServerOptions = {},
): Server {
  const headersTimeout = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(REQUEST_TIMEOUT_MS, headersTimeout),
      // The timeouts above are checked this often (Node's default is every 30 s).
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
    },
    (req, res) => {
      withIncomingTrace(req.headers, () => route(req, res, service, logger, options.shutdown)).catch(
        (error: unknown) => {
          if (res.headersSent || res.destroyed) return;
          if (error instanceof EndpointError) return sendError(res, error);
          logger.error({ err: error, path: req.url }, "delegation endpoint failed");
          sendError(res, new EndpointError(500, "Internal", "internal error"));
        },
      );
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  limitConnectionsPerSource(server, options.maxConnectionsPerSource ?? MAX_CONNECTIONS_PER_SOURCE, logger);
  return server;
}

/** Closes a new connection at once when its address already holds `max`. */
function limitConnectionsPerSource(server: Server, max: number, logger: Logger): void {
  const open = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const source = socket.remoteAddress ?? "";
    const count = open.get(source) ?? 0;
    if (count >= max) {
      logger.warn({ source, max }, "delegation endpoint: too many connections from one address; closing");
      socket.destroy();
      return;
    }
    open.set(source, count + 1);
    socket.once("close", () => {
      const left = (open.get(source) ?? 1) - 1;
      if (left > 0) open.set(source, left);
      else open.delete(source);
    });
  });
}
