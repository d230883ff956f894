/**
 * Attacks on the operator's delegation endpoint for the fault soak: slow clients that hold connections,
 * a burst over the per-caller rate limit, malformed JSON bodies and oversized MCP batches. Each returns
 * what the endpoint answered; the soak checks that a legitimate call still works meanwhile.
 */
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { JsonClient } from "./http.ts";

export interface AttackResult {
  /** "slow clients", "burst", "malformed JSON", "huge MCP batches". */
  kind: string;
  /** What was sent. */
  sent: number;
  /** HTTP status → count; "closed" when the server closed the connection first. */
  answers: Map<string, number>;
  /** 5xx answers or dropped requests where a 4xx was due. */
  wrong: number;
  /** A legitimate GET /v1/team during the attack: status and latency. */
  probe?: { status: number; ms: number };
  /** Names of the Delegations it created (the burst's admitted ones). */
  created: string[];
  detail: string;
}

/** A loopback address of this host: it reaches the endpoint's local address as a distinct source. */
const ATTACKER_ADDRESS = "127.0.0.2";

const count = (answers: Map<string, number>, key: string | number) =>
  answers.set(String(key), (answers.get(String(key)) ?? 0) + 1);

/**
 * Raw HTTP/1.1 POST with a body as given (not necessarily JSON); resolves with the status or "closed", and
 * "200 JSON-RPC error" for a 200 that carries one (MCP's answer to valid JSON that is not a valid request).
 */
function rawPost(host: string, port: number, path: string, token: string, body: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    let reply = "";
    socket.setTimeout(15_000, () => socket.destroy());
    socket.on("connect", () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
      );
      socket.end(body);
    });
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? "closed";
      resolve(
        status === "200" && /"jsonrpc":"2\.0"[\s\S]*"error":\{"code":-32\d{3}/.test(reply)
          ? "200 JSON-RPC error"
          : status,
      );
    });
  });
}

async function probeTeam(http: JsonClient, endpoint: string, token: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  try {
    const res = await http.send("GET", `http://${endpoint}/v1/team`, token, undefined, AbortSignal.timeout(20_000));
    return { status: res.status, ms: performance.now() - t0 };
  } catch {
    return { status: 0, ms: performance.now() - t0 };
  }
}

/**
 * `connections` clients that send a request line and one header, then a header line every `trickleMs`,
 * never finishing, for `holdMs`; meanwhile a legitimate call. Counts those the server closed.
 */
export async function slowClients(
  endpoint: string,
  token: string,
  http: JsonClient,
  connections: number,
  holdMs: number,
): Promise<AttackResult> {
  const [host, portText] = splitHostPort(endpoint);
  const answers = new Map<string, number>();
  const sockets: net.Socket[] = [];
  for (let i = 0; i < connections; i++) {
    // From another source address than the probe: the attacker is one pod, the probe another delegator
    // (the endpoint caps connections per address, so from one address the probe would be refused too).
    const socket = net.connect({ port: Number(portText), host, localAddress: ATTACKER_ADDRESS });
    socket.on("error", () => {});
    socket.on("connect", () => socket.write(`POST /v1/delegations HTTP/1.1\r\nHost: ${host}\r\nX-Slow-${i}: 1\r\n`));
    sockets.push(socket);
  }
  const trickle = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write(`X-More: ${Date.now()}\r\n`);
  }, 2000);
  await sleep(Math.min(3000, holdMs));
  const probe = await probeTeam(http, endpoint, token);
  await sleep(Math.max(0, holdMs - 3000));
  clearInterval(trickle);
  const open = sockets.filter((s) => !s.destroyed).length;
  answers.set("held open to the end", open);
  answers.set("closed by the server", connections - open);
  for (const s of sockets) s.destroy();
  return {
    kind: "slow clients",
    sent: connections,
    answers,
    wrong: probe.status === 200 ? 0 : 1,
    probe,
    created: [],
    detail: `${connections} connections from ${ATTACKER_ADDRESS} trickling a header every 2 s for ${holdMs / 1000} s; a GET /v1/team meanwhile from another address`,
  };
}

/** `requests` POST /v1/delegations?wait=false at once as one caller: some admitted (202), the rest 429. */
export async function burst(
  endpoint: string,
  token: string,
  requests: number,
  agent: string,
  tag: string,
): Promise<AttackResult> {
  const answers = new Map<string, number>();
  const created: string[] = [];
  let wrong = 0;
  let withoutRetryAfter = 0;
  await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      try {
        const res = await rawJson(endpoint, token, { agent, task: `${tag} burst ${i} stub-delay=300` });
        count(answers, res.status);
        if (res.status === 202 && typeof res.name === "string") created.push(res.name);
        else if (res.status === 429 && !res.retryAfter) withoutRetryAfter++;
        else if (res.status !== 429) wrong++;
      } catch {
        count(answers, "error");
        wrong++;
      }
    }),
  );
  return {
    kind: "burst",
    sent: requests,
    answers,
    wrong: wrong + withoutRetryAfter,
    created,
    detail: `${requests} POST /v1/delegations?wait=false at once as the lead${withoutRetryAfter ? `; ${withoutRetryAfter} 429 without Retry-After` : ""}`,
  };
}

/** POST /v1/delegations?wait=false, returning the status, the Delegation's name and Retry-After. */
async function rawJson(
  endpoint: string,
  token: string,
  body: object,
): Promise<{ status: number; name: unknown; retryAfter: string | null }> {
  const res = await fetch(`http://${endpoint}/v1/delegations?wait=false`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const parsed = (await res.json().catch(() => ({}))) as { delegation?: unknown; name?: unknown };
  return { status: res.status, name: parsed.delegation ?? parsed.name, retryAfter: res.headers.get("retry-after") };
}

const MALFORMED = [
  "{",
  '{"agent": "x", "task": ',
  "[1, 2",
  '{"agent": 1, "task": {}}',
  "null",
  '"just a string"',
  "{'single': 'quotes'}",
  '{"agent":"a","task":"t"}}}}',
  "\u0000\u0001\u0002",
  '{"jsonrpc":"2.0","method":"tools/call","params":',
  '{"agent":"a","task":"t","extra":',
  "NaN",
  '{"a":1e999999}',
  `{"deep":${"[".repeat(5000)}${"]".repeat(5000)}}`,
];

/** Malformed bodies on REST and MCP: each must get a 4xx. */
export async function malformed(endpoint: string, token: string, rounds: number): Promise<AttackResult> {
  const [host, port] = splitHostPort(endpoint);
  const answers = new Map<string, number>();
  let wrong = 0;
  let sent = 0;
  for (let r = 0; r < rounds; r++) {
    for (const body of MALFORMED) {
      for (const path of ["/v1/delegations?wait=false", "/mcp"]) {
        sent++;
        const status = await rawPost(host, Number(port), path, token, body);
        count(answers, status);
        if (!/^4\d\d$/.test(status) && !(path === "/mcp" && status === "200 JSON-RPC error")) wrong++;
      }
    }
  }
  return {
    kind: "malformed JSON",
    sent,
    answers,
    wrong,
    created: [],
    detail: `${MALFORMED.length} broken bodies × REST and MCP × ${rounds}`,
  };
}

/** MCP batches over the limit of 16 (17, 1000, 5000 messages) and a body over 1 MiB: 400 or 413. */
export async function hugeBatches(endpoint: string, token: string): Promise<AttackResult> {
  const [host, port] = splitHostPort(endpoint);
  const answers = new Map<string, number>();
  let wrong = 0;
  let sent = 0;
  const call = (id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "delegate", arguments: { agent: "nobody", task: "batch" } },
  });
  for (const size of [17, 1000, 5000]) {
    sent++;
    const body = JSON.stringify(Array.from({ length: size }, (_, i) => call(i)));
    const status = await rawPost(host, Number(port), "/mcp", token, body);
    count(answers, status);
    if (status !== "400" && status !== "413") wrong++;
  }
  sent++;
  const big = JSON.stringify([
    { ...call(0), params: { name: "delegate", arguments: { task: "x".repeat(1_200_000) } } },
  ]);
  const status = await rawPost(host, Number(port), "/mcp", token, big);
  count(answers, status);
  // A body over the limit may be cut off mid-upload: a close before the answer is a refusal too.
  if (status !== "413" && status !== "closed") wrong++;
  return {
    kind: "huge MCP batches",
    sent,
    answers,
    wrong,
    created: [],
    detail: "MCP batches of 17, 1000 and 5000 tools/call messages, and one of 1.2 MB",
  };
}

function splitHostPort(endpoint: string): [string, string] {
  const colon = endpoint.lastIndexOf(":");
  return [endpoint.slice(0, colon), endpoint.slice(colon + 1)];
}
