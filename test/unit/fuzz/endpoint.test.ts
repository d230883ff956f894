// The delegation endpoint's parsers (REST and MCP JSON-RPC), fuzzed through the real HTTP server with
// a fake service behind it: random and mutated bodies, paths and headers never get a 5xx.
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDelegationServer } from "../../../src/delegation-endpoint/server.ts";
import { DelegateRequest, type DelegationService, EndpointError } from "../../../src/delegation-endpoint/service.ts";
import { fuzzParameters, fuzzTimeoutMs } from "../../fuzz/runs.ts";

const TOKEN = "lead-token";
/** Every request the fake service was handed, to check that only parsed ones reach it. */
const delegated: unknown[] = [];
const service: DelegationService = {
  authenticate: (token) => (token === TOKEN ? { namespace: "ns", agent: "ceo" } : undefined),
  async delegate(_caller, request, _signal, options) {
    delegated.push(request);
    return { delegation: "ceo-1", phase: options?.wait === false ? "Pending" : "Succeeded", result: "done" };
  },
  async get(_caller, name) {
    if (name !== "ceo-1") throw new EndpointError(404, "NotFound", `no Delegation ${name}`);
    return { delegation: name, phase: "Running" };
  },
  async cancel() {},
  listTeam: async () => ({ teams: [] }),
};

const server = createDelegationServer(service, pino({ level: "silent" }));
let base: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const validDelegate = { agent: "researcher", task: "Summarise the report.", timeoutSeconds: 60, parent: "task-1" };
const validMcp = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "delegate", arguments: validDelegate },
});

/** A JSON value with one random change: a key dropped, a value replaced, a wrong type. */
function mutated(value: unknown): fc.Arbitrary<unknown> {
  const leaves: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    leaves.push(path);
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, [...path, i]);
    } else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(value, []);
  return fc
    .record({ path: fc.constantFrom(...leaves), replacement: fc.jsonValue({ maxDepth: 2 }), drop: fc.boolean() })
    .map(({ path, replacement, drop }) => {
      if (path.length === 0) return replacement;
      const copy = structuredClone(value) as Record<string | number, unknown>;
      let node = copy;
      for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
      if (drop) delete node[path.at(-1)!];
      else node[path.at(-1)!] = replacement;
      return copy;
    });
}

/** Bytes that are not JSON, or JSON cut short. */
const brokenJson = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constant(JSON.stringify(validMcp(1))).chain((s) => fc.nat({ max: s.length - 1 }).map((n) => s.slice(0, n))),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
);

const restBody = fc.oneof(
  mutated(validDelegate).map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  brokenJson,
);
const mcpBody = fc.oneof(
  mutated(validMcp(1)).map((v) => JSON.stringify(v)),
  fc.array(mutated(validMcp(2)), { maxLength: 20 }).map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  brokenJson,
);

/** Request targets a client may send: routes with odd names, queries and encodings. */
const path = fc.oneof(
  fc.constantFrom(
    "/v1/delegations",
    "/mcp",
    "/v1/team",
    "/v1/delegations/ceo-1",
    "//",
    "//x/y",
    "/%",
    "/v1/delegations/%ZZ",
  ),
  fc.webPath(),
  fc.tuple(fc.constantFrom("/v1/delegations", "/mcp"), fc.webQueryParameters()).map(([p, q]) => `${p}?${q}`),
);

async function send(method: string, target: string, body: string | undefined, auth = `Bearer ${TOKEN}`) {
  const response = await fetch(`${base}${target}`, {
    method,
    headers: { authorization: auth, "content-type": "application/json", accept: "application/json, text/event-stream" },
    ...(body !== undefined && { body }),
  });
  const text = await response.text();
  return { status: response.status, text };
}

/** A 4xx carries an error object; a 2xx is JSON (or an empty 202 for notifications). */
function expectWellFormedReply(reply: { status: number; text: string }) {
  expect(reply.status, reply.text).toBeLessThan(500);
  if (reply.status >= 400) {
    const body = JSON.parse(reply.text) as { error?: { message?: unknown } };
    expect(typeof body.error?.message).toBe("string");
  } else if (reply.text !== "") JSON.parse(reply.text);
}

describe("the delegation endpoint under random and mutated input", () => {
  it(
    "REST POST /v1/delegations: never a 5xx, and only bodies that parse reach the service",
    async () => {
      await fc.assert(
        fc.asyncProperty(restBody, fc.constantFrom("", "?wait=false", "?wait=true&wait=x"), async (body, query) => {
          const before = delegated.length;
          const reply = await send("POST", `/v1/delegations${query}`, body);
          expectWellFormedReply(reply);
          const parsedBody = (() => {
            try {
              return JSON.parse(body) as unknown;
            } catch {
              return undefined;
            }
          })();
          const valid = parsedBody !== undefined && DelegateRequest.safeParse(parsedBody).success;
          expect(reply.status).toBe(valid ? (query === "?wait=false" ? 202 : 200) : 400);
          expect(delegated.length).toBe(before + (valid ? 1 : 0));
        }),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(5),
  );

  it(
    "MCP POST /mcp: never a 5xx; a JSON body is answered per message",
    async () => {
      await fc.assert(
        fc.asyncProperty(mcpBody, async (body) => {
          const reply = await send("POST", "/mcp", body);
          expectWellFormedReply(reply);
        }),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(5),
  );

  it(
    "any method, path and token: never a 5xx",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("GET", "POST", "DELETE", "PUT", "PATCH"),
          path,
          fc.option(restBody),
          fc.constantFrom(`Bearer ${TOKEN}`, "Bearer nope", "", "Basic x", `bearer   ${TOKEN}`),
          async (method, target, body, auth) => {
            const withBody = method !== "GET" && body !== null ? body : undefined;
            expectWellFormedReply(await send(method, target, withBody, auth));
          },
        ),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(5),
  );
});
