import tls from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { TestResources } from "../../../harness/vitest.ts";
import { KubeClient } from "../../../src/runtime/client.ts";
import type { ClusterConnection, Credentials } from "../../../src/runtime/kubeconfig.ts";

const resources = new TestResources();
afterAll(() => resources.cleanup());

/** The real connection, whose CA a test can swap (as a rotation would). */
function swappableCa(base: ClusterConnection): { connection: ClusterConnection; useCa(ca: Buffer | undefined): void } {
  let override: Buffer | undefined;
  return {
    connection: {
      ...base,
      async credentials(): Promise<Credentials> {
        const real = await base.credentials();
        return override ? { ...real, tls: { ...real.tls, ca: override } } : real;
      },
    },
    useCa(ca) {
      override = ca;
    },
  };
}

describe("KubeClient TLS", () => {
  it("verifies the API server against the connection's CA, and follows a changed CA", async () => {
    const { connection, useCa } = swappableCa(resources.connection);
    const client = new KubeClient(connection);
    try {
      const version = await client.get<{ gitVersion: string }>("/version");
      expect(version.gitVersion).toMatch(/^v1\./);

      useCa(Buffer.from(tls.rootCertificates[0]!)); // a CA that did not sign the server's certificate
      // A new connection is needed to see it: the old agent's keep-alive sockets are closed.
      await expect(client.get("/version")).rejects.toThrow(/certificate/i);

      useCa(undefined);
      expect((await client.get<{ gitVersion: string }>("/version")).gitVersion).toBe(version.gitVersion);
    } finally {
      client.close();
    }
  });
});
