import { createServer, type Server } from "node:net";

const LOOPBACK = "127.0.0.1";

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("unexpected listen address"));
        return;
      }
      resolve(address.port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Returns `count` distinct TCP ports that were free on 127.0.0.1 a moment ago.
 * All listeners are held open until every port is chosen, so the ports differ from each other.
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listen(server));
    }
    return ports;
  } finally {
    await Promise.all(servers.map(close));
  }
}
