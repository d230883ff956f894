/** Delivery of one attempt: an OpenAI-style chat completion to a gateway pod */
import http from "node:http";
import type { Delegation } from "../api/delegation.ts";
import { traceHeaders } from "../tracing/spans.ts";
import type { DialTarget } from "./pod-endpoints.ts";
import { ReplyBudget } from "./reply-budget.ts";
import { MAX_RESULT_BYTES } from "./result.ts";

/**
 * Replies larger than this fail the attempt as AgentError: what is stored of a result (1 MB) and
 * room for the JSON around it. Nothing larger is buffered.
 */
export const MAX_REPLY_BYTES = MAX_RESULT_BYTES + 64 * 1024;
/** What all replies in flight may buffer together (64 replies of the largest size). */
export const REPLY_BUDGET_BYTES = 64 * MAX_REPLY_BYTES;
export const CHAT_PATH = "/v1/chat/completions";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatBody {
  model: string;
  user: string;
  stream: false;
  messages: ChatMessage[];
}

export interface ChatUsage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  /** The reply did not say (no usage, or all zero): never recorded as zero tokens. */
  unknown?: boolean;
}

export interface ChatResult {
  content: string;
  usage?: ChatUsage | undefined;
}

export interface ChatTarget extends DialTarget {
  token: string;
}

/**
 * connect: no connection (refused, unreachable, DNS); reset: the connection broke mid-request;
 * http: a non-2xx answer; body: a 2xx answer that is not a chat completion or is too large;
 * aborted: the caller's signal fired (the dispatcher knows why).
 */
export type DeliveryErrorKind = "connect" | "reset" | "http" | "body" | "aborted";

export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  readonly kind: DeliveryErrorKind;
  readonly status: number | undefined;

  constructor(kind: DeliveryErrorKind, message: string, status?: number, cause?: unknown) {
    super(message, { cause });
    this.kind = kind;
    this.status = status;
  }

  /** Worth another attempt on another pod: connect errors, resets, 5xx, 429 and 401 (a stale token). */
  get retryable(): boolean {
    if (this.kind === "connect" || this.kind === "reset") return true;
    if (this.kind === "http") {
      const s = this.status ?? 0;
      return s >= 500 || s === 429 || s === 401;
    }
    return false;
  }
}

export type Transport = (target: ChatTarget, body: ChatBody, signal: AbortSignal) => Promise<ChatResult>;

/** The request body for a Delegation; `delegator` adds the system line about passing `parent`. */
export function chatBody(d: Delegation, options: { delegator?: boolean } = {}): ChatBody {
  const name = d.metadata.name ?? "";
  const messages: ChatMessage[] = [];
  if (options.delegator) {
    messages.push({
      role: "system",
      content: `clawcrew: you are working on Delegation ${name} from ${d.spec.from ?? "a person"}; when you delegate part of it pass parent: "${name}"`,
    });
  }
  for (const m of d.spec.context ?? []) messages.push({ role: m.role, content: m.content });
  messages.push({ role: "user", content: d.spec.task });
  return { model: "openclaw/default", user: `clawcrew:${d.metadata.uid ?? name}`, stream: false, messages };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, keepAliveMsecs: 10_000 });

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EADDRNOTAVAIL",
]);

export interface ChatCompletionOptions {
  maxReplyBytes?: number;
  /** Shared by every call of this transport. */
  budget?: ReplyBudget;
}

/**
 * POSTs the chat completion over one shared keep-alive agent. Aborting `signal` destroys the socket.
 * A reply over its cap fails the attempt (not retried); one that does not fit the budget shared by
 * the replies in flight breaks like a reset connection, so the attempt is retried later.
 */
export function createChatCompletion(options: ChatCompletionOptions = {}): Transport {
  const maxReplyBytes = options.maxReplyBytes ?? MAX_REPLY_BYTES;
  const budget = options.budget ?? new ReplyBudget(REPLY_BUDGET_BYTES);
  return (target, body, signal) => post(target, body, signal, maxReplyBytes, budget);
}

export const chatCompletion: Transport = createChatCompletion();

function post(
  target: ChatTarget,
  body: ChatBody,
  signal: AbortSignal,
  maxReplyBytes: number,
  budget: ReplyBudget,
): Promise<ChatResult> {
  return new Promise<ChatResult>((resolve, reject) => {
    if (signal.aborted) return reject(new DeliveryError("aborted", "aborted before sending", undefined, signal.reason));
    const payload = JSON.stringify(body);
    let sent = false;
    const req = http.request(
      {
        host: target.host,
        port: target.port,
        path: CHAT_PATH,
        method: "POST",
        agent,
        signal,
        headers: {
          authorization: `Bearer ${target.token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          accept: "application/json",
          ...traceHeaders(),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let refused = false;
        const refuse = (error: DeliveryError) => {
          refused = true;
          res.destroy();
          reject(error);
        };
        const tooLarge = () =>
          new DeliveryError("body", `the reply is larger than ${maxReplyBytes} bytes`, res.statusCode);
        res.on("close", () => budget.give(size));
        if (Number(res.headers["content-length"] ?? 0) > maxReplyBytes) return refuse(tooLarge());
        res.on("data", (chunk: Buffer) => {
          if (refused) return;
          if (size + chunk.length > maxReplyBytes) return refuse(tooLarge());
          if (!budget.take(chunk.length)) {
            return refuse(
              new DeliveryError(
                "reset",
                `the operator's buffer for replies in flight (${budget.limit} bytes) is full; retried later`,
                res.statusCode,
              ),
            );
          }
          size += chunk.length;
          chunks.push(chunk);
        });
        res.on("error", (error) => {
          if (!refused) reject(failure(error, signal, true));
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            const hint = status === 500 ? " (an OpenClaw run that hit its own timeoutSeconds also answers 500)" : "";
            reject(new DeliveryError("http", `the gateway answered ${status}: ${text.slice(0, 512)}${hint}`, status));
            return;
          }
          try {
            resolve(parseCompletion(text));
          } catch (error) {
            reject(new DeliveryError("body", (error as Error).message, status));
          }
        });
      },
    );
    req.on("finish", () => {
      sent = true;
    });
    req.on("error", (error) => reject(failure(error, signal, sent)));
    req.end(payload);
  });
}

function failure(error: Error, signal: AbortSignal, sent: boolean): DeliveryError {
  if (signal.aborted) return new DeliveryError("aborted", "aborted", undefined, signal.reason);
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (CONNECT_CODES.has(code) || (!sent && code !== "ECONNRESET" && code !== "EPIPE")) {
    return new DeliveryError("connect", `cannot connect: ${error.message}`, undefined, error);
  }
  return new DeliveryError("reset", `the connection broke: ${error.message}`, undefined, error);
}

/**
 * `choices[0].message.content` and usage of a chat completion body. OpenClaw's reply sums the usage
 * of every LLM call of the turn; it answers zeros when the provider reported none, and no model
 * call reads zero prompt tokens, so zero tokens mean unknown.
 */
export function parseCompletion(text: string): ChatResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`the reply is not JSON: ${text.slice(0, 200)}`);
  }
  const b = body as {
    choices?: { message?: { content?: unknown } }[];
    usage?: { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown };
  };
  const content = b?.choices?.[0]?.message?.content;
  if (typeof content !== "string") throw new Error("the reply has no choices[0].message.content");
  const int = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined);
  const usage: ChatUsage = {};
  const prompt = int(b.usage?.prompt_tokens);
  const completion = int(b.usage?.completion_tokens);
  const total = int(b.usage?.total_tokens);
  if (prompt !== undefined) usage.promptTokens = prompt;
  if (completion !== undefined) usage.completionTokens = completion;
  if (total !== undefined) usage.totalTokens = total;
  const tokens = (usage.totalTokens ?? 0) + (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0);
  return { content, usage: tokens > 0 ? usage : { unknown: true } };
}
