/**
 * A byte forwarder between TCP and Unix sockets, used to reach a gateway that runs in its own network
 * namespace (Unix sockets cross network namespaces through the shared filesystem).
 *
 *   node test/e2e/forward.ts <listen> <target>     endpoints: 127.0.0.1:PORT or a socket path
 */
import net from "node:net";
import { fileURLToPath } from "node:url";

export type Endpoint = { host: string; port: number } | { path: string };

export function parseEndpoint(text: string): Endpoint {
  const tcp = /^([\d.]+):(\d+)$/.exec(text);
  return tcp ? { host: tcp[1]!, port: Number(tcp[2]) } : { path: text };
}

export interface Forwarder {
  /** The TCP port listened on, when listening on TCP. */
  port: number | undefined;
  close(): Promise<void>;
}

export function forward(listen: Endpoint, target: Endpoint): Promise<Forwarder> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen, () =>
      resolve({
        port: (server.address() as net.AddressInfo | null)?.port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [listen, target] = process.argv.slice(2);
  if (!listen || !target) throw new Error("usage: forward.ts <listen> <target>");
  const forwarder = await forward(parseEndpoint(listen), parseEndpoint(target));
  process.on("SIGTERM", () => void forwarder.close().then(() => process.exit(0)));
}
