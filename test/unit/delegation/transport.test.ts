import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReplyBudget } from "../../../src/delegation/reply-budget.ts";
import {
  createChatCompletion,
  DeliveryError,
  parseCompletion,
  type Transport,
} from "../../../src/delegation/transport.ts";

// A gateway on loopback whose reply content is as many bytes as the task says, sent chunked (no
// content-length), so that the caps are enforced while reading. A task ending in "held" keeps its
// last chunk until two such requests have sent the rest (and a moment after): their replies are in
// flight together.
let server: http.Server;
let port = 0;
let held: (() => void)[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    req.on("end", () => {
      const task: string = JSON.parse(text).messages[0].content;
      const reply = JSON.stringify({
        choices: [{ message: { role: "assistant", content: "x".repeat(parseInt(task, 10)) } }],
      });
      res.writeHead(200, { "content-type": "application/json" });
      const chunks: string[] = [];
      for (let i = 0; i < reply.length; i += 64 * 1024) chunks.push(reply.slice(i, i + 64 * 1024));
      const last = chunks.pop()!;
      for (const chunk of chunks) res.write(chunk);
      if (!task.endsWith("held")) return res.end(last);
      held.push(() => res.end(last));
      if (held.length === 2) {
        const releases = held;
        held = [];
        // Time for the client to read what both sent before the last chunks end them.
        setTimeout(() => {
          for (const release of releases) release();
        }, 200);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function ask(transport: Transport, size: number | string) {
  return transport(
    { host: "127.0.0.1", port, token: "t" },
    { model: "m", user: "u", stream: false, messages: [{ role: "user", content: String(size) }] },
    new AbortController().signal,
  );
}

async function failureOf(call: Promise<unknown>): Promise<DeliveryError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

describe("gateway reply limits", () => {
  it("fail an attempt whose reply is over the cap, not to be retried, and free its bytes", async () => {
    const budget = new ReplyBudget(10 * 1024 * 1024);
    const error = await failureOf(ask(createChatCompletion({ maxReplyBytes: 200 * 1024, budget }), 500 * 1024));
    expect(error.kind).toBe("body");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("larger than 204800 bytes");
    await eventually(() => budget.used === 0);
  });

  it("take a reply under the cap whole, and give its bytes back", async () => {
    const budget = new ReplyBudget(10 * 1024 * 1024);
    const result = await ask(createChatCompletion({ maxReplyBytes: 200 * 1024, budget }), 100 * 1024);
    expect(result.content).toHaveLength(100 * 1024);
    await eventually(() => budget.used === 0);
  });

  it("break, as a retryable failure, replies that together pass the budget shared by attempts in flight", async () => {
    const budget = new ReplyBudget(300 * 1024);
    const transport = createChatCompletion({ maxReplyBytes: 1024 * 1024, budget });
    const outcomes = await Promise.allSettled([ask(transport, "204800 held"), ask(transport, "204800 held")]);
    const failed = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as DeliveryError] : []));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toBeInstanceOf(DeliveryError);
    expect(failed[0]!.kind).toBe("reset");
    expect(failed[0]!.retryable).toBe(true);
    expect(failed[0]!.message).toContain("307200 bytes");
    await eventually(() => budget.used === 0);
    // With the bytes given back, the next reply fits again.
    expect((await ask(transport, 200 * 1024)).content).toHaveLength(200 * 1024);
  });
});

describe("a reply's usage", () => {
  const reply = (usage: unknown) =>
    JSON.stringify({ choices: [{ message: { content: "ok" } }], ...(usage !== undefined && { usage }) });

  it("is read from OpenAI's fields", () => {
    expect(parseCompletion(reply({ prompt_tokens: 300, completion_tokens: 16, total_tokens: 316 })).usage).toEqual({
      promptTokens: 300,
      completionTokens: 16,
      totalTokens: 316,
    });
  });

  it("is unknown, not zero, when the reply has none or only zeros (OpenClaw's answer when the provider reported none)", () => {
    expect(parseCompletion(reply(undefined)).usage).toEqual({ unknown: true });
    expect(parseCompletion(reply({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 })).usage).toEqual({
      unknown: true,
    });
  });
});
