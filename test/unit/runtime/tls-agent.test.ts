import tls from "node:tls";
import { describe, expect, it, vi } from "vitest";
import { TlsAgents } from "../../../src/runtime/tls-agent.ts";

// Two real CA certificates (Node's bundled roots), standing in for a CA before and after rotation.
const [caA, caB] = tls.rootCertificates.map((pem) => Buffer.from(pem));

describe("TlsAgents", () => {
  it("keeps one agent while the material is the same, even when re-read into new Buffers", () => {
    const agents = new TlsAgents();
    const first = agents.agentFor({ ca: caA! });
    expect(agents.agentFor({ ca: Buffer.from(caA!) })).toBe(first);
    expect(first.options.secureContext).toBeDefined();
    expect(first.options.ca).toBeUndefined(); // not in the options Node names socket pools by
    agents.destroy();
  });

  it("replaces the agent and closes the old one's connections when the material changes", () => {
    const agents = new TlsAgents();
    const first = agents.agentFor({ ca: caA! });
    const destroy = vi.spyOn(first, "destroy");
    const second = agents.agentFor({ ca: caB! });
    expect(second).not.toBe(first);
    expect(destroy).toHaveBeenCalledOnce();
    expect(agents.agentFor({ ca: caB!, rejectUnauthorized: false })).not.toBe(second);
    agents.destroy();
  });

  it("carries rejectUnauthorized and servername onto the agent", () => {
    const agents = new TlsAgents();
    const agent = agents.agentFor({ ca: caA!, rejectUnauthorized: false, servername: "kubernetes.default" });
    expect(agent.options).toMatchObject({ rejectUnauthorized: false, servername: "kubernetes.default" });
    agents.destroy();
  });
});
