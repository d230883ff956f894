/**
 * The API client's keep-alive HTTPS agent, built once per set of TLS material. The material lives in
 * one SecureContext on the agent instead of in each request's options: Node names an agent's socket
 * pool from the request's `ca`, `cert` and `key`, which turns each Buffer into a string three times
 * per request.
 */
import https from "node:https";
import tls from "node:tls";
import type { TlsOptions } from "./kubeconfig.ts";

export class TlsAgents {
  #current: { material: TlsOptions; agent: https.Agent } | undefined;

  /** The agent for `material`; a change (a rotated certificate or CA) replaces it. */
  agentFor(material: TlsOptions): https.Agent {
    const current = this.#current;
    if (current && sameMaterial(current.material, material)) return current.agent;
    // Like client-go on certificate rotation: connections made with the old material are closed.
    current?.agent.destroy();
    const agent = new https.Agent({
      keepAlive: true,
      secureContext: tls.createSecureContext({
        ...(material.ca && { ca: material.ca }),
        ...(material.cert && { cert: material.cert }),
        ...(material.key && { key: material.key }),
      }),
      ...(material.rejectUnauthorized === false && { rejectUnauthorized: false }),
      ...(material.servername && { servername: material.servername }),
    });
    this.#current = { material, agent };
    return agent;
  }

  /** Closes the current agent's connections. */
  destroy(): void {
    this.#current?.agent.destroy();
    this.#current = undefined;
  }
}

function sameMaterial(a: TlsOptions, b: TlsOptions): boolean {
  return (
    sameBuffer(a.ca, b.ca) &&
    sameBuffer(a.cert, b.cert) &&
    sameBuffer(a.key, b.key) &&
    a.rejectUnauthorized === b.rejectUnauthorized &&
    a.servername === b.servername
  );
}

/** Files are re-read every minute into new Buffers: equal content is the same material. */
function sameBuffer(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.equals(b));
}
