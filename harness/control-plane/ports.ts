import { createServer, type Server } from "node:net";
import { PortAllocationError } from "../errors.ts";

const LOOPBACK = "127.0.0.1";

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new PortAllocationError(`expected a TCP address from listen() on ${host}, got ${String(address)}`));
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
export function freeLoopbackPorts(count: number): Promise<number[]> {
  return freePorts(count, LOOPBACK);
}

/** Like freeLoopbackPorts, on another local address (such as the pod network's bridge). */
export async function freePorts(count: number, host: string): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listen(server, host));
    }
    return ports;
  } finally {
    await Promise.all(servers.map(close));
  }
}
