import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/runtime/log.ts";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger("test", "info", stream), lines };
}

describe("the operator's logger", () => {
  it("redacts tokens, authorization headers and Secret contents at any of the first four levels", () => {
    const { logger, lines } = capture();
    logger.info(
      {
        token: "gateway-token-1",
        request: { headers: { authorization: "Bearer api-token-2" } },
        secret: {
          kind: "Secret",
          metadata: { name: "creds" },
          data: { KEY: "c2VjcmV0LTM=" },
          stringData: { K: "s-4" },
        },
        err: { response: { headers: { authorization: "Bearer t-5" } } },
        namespace: "team-a",
      },
      "wrote",
    );
    const line = lines.join("");
    for (const secret of ["gateway-token-1", "api-token-2", "c2VjcmV0LTM=", "s-4", "t-5"]) {
      expect(line).not.toContain(secret);
    }
    const entry = JSON.parse(line);
    expect(entry.token).toBe("[redacted]");
    expect(entry.request.headers.authorization).toBe("[redacted]");
    expect(entry.secret.data).toBe("[redacted]");
    expect(entry.secret.metadata.name).toBe("creds");
    expect(entry.namespace).toBe("team-a");
  });
});
