import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { ProbeTimeoutError } from "../errors.ts";

export interface ProbeResponse {
  status: number;
  body: string;
}

export interface ProbeOptions {
  /** PEM CA bundle that must have issued the server's certificate (https only). */
  ca?: string;
  token?: string;
  timeoutMs?: number;
}

/** A single GET, for health endpoints (TLS is verified against `ca`; never skipped). */
export function probe(url: string, options: ProbeOptions = {}): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const common = { method: "GET", headers, timeout: options.timeoutMs ?? 5_000 };
    const onResponse = (res: import("node:http").IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    };
    const req =
      target.protocol === "https:"
        ? httpsRequest(target, { ...common, ca: options.ca, rejectUnauthorized: true }, onResponse)
        : httpRequest(target, common, onResponse);
    req.on("timeout", () => req.destroy(new ProbeTimeoutError(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}
