/**
 * A loopback TCP proxy in front of the real API server whose network the test can break: reset
 * every connection, refuse or black-hole new ones, or freeze established ones (they stay open and
 * go silent, like a connection through a NAT that dropped its state). TLS passes through untouched.
 */
import net from "node:net";

/** What happens to new connections. */
export type ProxyMode = "pass" | "refuse" | "blackhole";

interface Link {
  client: net.Socket;
  upstream?: net.Socket;
}

export class FaultyProxy {
  readonly port: number;
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();
  #mode: ProxyMode = "pass";
  /** Connections accepted so far (any mode). */
  accepted = 0;

  private constructor(server: net.Server, port: number, target: { host: string; port: number }) {
    this.#server = server;
    this.port = port;
    this.#target = target;
    server.on("connection", (socket) => this.#accept(socket));
  }

  static async start(target: string): Promise<FaultyProxy> {
    const url = new URL(target);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    return new FaultyProxy(server, port, { host: url.hostname, port: Number(url.port || 443) });
  }

  /** The server URL to put into a kubeconfig (the API server's certificate covers 127.0.0.1). */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#links.size;
  }

  setMode(mode: ProxyMode): void {
    this.#mode = mode;
  }

  /** Resets (TCP RST) every open connection. */
  resetAll(): void {
    for (const link of this.#links) this.#drop(link, true);
  }

  /** Stops forwarding on every open connection without closing it: both ends see silence. */
  freezeAll(): void {
    for (const { client, upstream } of this.#links) {
      if (upstream) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        upstream.pause();
      }
      client.pause();
    }
  }

  async close(): Promise<void> {
    for (const link of this.#links) this.#drop(link, false);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.accepted++;
    const link: Link = { client };
    this.#links.add(link);
    client.on("error", () => this.#drop(link, false));
    client.on("close", () => this.#drop(link, false));
    if (this.#mode === "refuse") {
      this.#drop(link, true);
      return;
    }
    if (this.#mode === "blackhole") {
      client.pause(); // accepted, never answered
      return;
    }
    const upstream = net.connect(this.#target.port, this.#target.host);
    link.upstream = upstream;
    upstream.on("error", () => this.#drop(link, true));
    upstream.on("close", () => this.#drop(link, false));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #drop(link: Link, reset: boolean): void {
    if (!this.#links.delete(link)) return;
    for (const socket of [link.client, link.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
