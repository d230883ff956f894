/**
 * The stub gateway's fault modes (used by bench/soak.ts) seen through the operator's own transport: each
 * fault fails the attempt the way a real gateway's would, and `/<n>` limits it to the first n requests.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultOf, startStubGateway } from "../../../harness/podnet/stub-gateway.ts";
import {
  type ChatBody,
  createChatCompletion,
  DeliveryError,
  MAX_REPLY_BYTES,
} from "../../../src/delegation/transport.ts";

const TOKEN = "stub-token";
let server: Server;
let port: number;
const transport = createChatCompletion();
const body = (user: string, task: string): ChatBody => ({
  model: "openclaw/default",
  user,
  stream: false,
  messages: [{ role: "user", content: task }],
});
const call = (user: string, task: string, signal = AbortSignal.timeout(5000)) =>
  transport({ host: "127.0.0.1", port, token: TOKEN }, body(user, task), signal);
const failure = async (user: string, task: string, signal?: AbortSignal) => {
  const error = await call(user, task, signal).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
};

beforeAll(async () => {
  server = await startStubGateway({ token: TOKEN, port: 0, host: "127.0.0.1" });
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("stub gateway faults", () => {
  it("parses stub-fault=<mode>[/<n>] and ignores unknown modes", () => {
    expect(faultOf("t stub-fault=500/2 x")).toEqual({ fault: "500", times: 2 });
    expect(faultOf("stub-fault=hang")).toEqual({ fault: "hang", times: Number.POSITIVE_INFINITY });
    expect(faultOf("stub-fault=nope")).toBeUndefined();
    expect(faultOf("plain task")).toBeUndefined();
  });

  it("500 and 429 are retryable http errors; 429 carries Retry-After", async () => {
    const e500 = await failure("u-500", "stub-fault=500");
    expect([e500.kind, e500.status, e500.retryable]).toEqual(["http", 500, true]);
    const e429 = await failure("u-429", "stub-fault=429");
    expect([e429.kind, e429.status, e429.retryable]).toEqual(["http", 429, true]);
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body("u-429-raw", "stub-fault=429")),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
  });

  it("close breaks the reply mid-way like a reset (retryable)", async () => {
    const e = await failure("u-close", "stub-fault=close");
    expect([e.kind, e.retryable]).toEqual(["reset", true]);
  });

  it("badjson and huge fail the attempt without a retry", async () => {
    const bad = await failure("u-bad", "stub-fault=badjson");
    expect([bad.kind, bad.retryable]).toEqual(["body", false]);
    const huge = await failure("u-huge", "stub-fault=huge");
    expect([huge.kind, huge.retryable]).toEqual(["body", false]);
    expect(huge.message).toContain(`larger than ${MAX_REPLY_BYTES} bytes`);
  });

  it("hang never answers: the caller's abort ends it", async () => {
    const e = await failure("u-hang", "stub-fault=hang", AbortSignal.timeout(300));
    expect(e.kind).toBe("aborted");
  });

  it("/<n> faults only the first n requests of a user; stub-delay holds the answer; /stats counts each", async () => {
    await failure("u-once", "stub-fault=500/1");
    const t0 = performance.now();
    const ok = await call("u-once", "stub-fault=500/1 stub-delay=150");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(ok.content).toBe("ok:stub-fault=500/1 stub-delay=150");
    const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { byUser: Record<string, number> };
    expect(stats.byUser["u-once"]).toBe(2);
  });
});
