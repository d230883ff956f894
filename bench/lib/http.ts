/** A small JSON client on node:http with its own keep-alive pool, so a benchmark's client costs little. */
import { Agent, request } from "node:http";

export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
}

export class JsonClient {
  readonly #agent: Agent;

  /** `maxSockets`: connections per host:port, at least the number of concurrent callers. */
  constructor(maxSockets = 64) {
    this.#agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** Sends `body` as JSON with a bearer token; resolves with the status and the parsed (or raw) body. */
  send<T = unknown>(
    method: "GET" | "POST",
    url: string,
    token: string | undefined,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<JsonResponse<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.#agent,
          headers: {
            ...(token && { authorization: `Bearer ${token}` }),
            ...(payload !== undefined && {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(payload),
            }),
          },
          ...(signal && { signal }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // keep the raw text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
