/** The operator's probe and metrics endpoints. */
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export type Check = () => boolean;

function hostPort(address: string): { host: string | undefined; port: number } {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[|\]$/g, "");
  return { host: host || undefined, port: Number(address.slice(i + 1)) };
}

/** Starts `server` on `host:port` (`:port` binds every address). */
export async function listen(server: Server, address: string): Promise<Server> {
  const { host, port } = hostPort(address);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

/** /healthz (the process serves) and /readyz (checks pass). */
export function serveProbes(address: string, ready: Check): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url?.split("?")[0];
    if (path === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    if (path === "/readyz") {
      const ok = ready();
      return void res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok" : "not ready");
    }
    res.writeHead(404).end();
  });
  return listen(server, address);
}

/** /metrics in the Prometheus text format. */
export function serveMetrics(address: string, registry: Registry): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url?.split("?")[0] !== "/metrics") return void res.writeHead(404).end();
    registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  return listen(server, address);
}

export function address(server: Server): string {
  const a = server.address();
  return typeof a === "object" && a ? `${a.address}:${a.port}` : String(a);
}
