import { describe, expect, it } from "vitest";
import type { Delegation, DelegationStatus } from "../../../src/api/delegation.ts";
import { FencedWrites } from "../../../src/delegation/fenced-writes.ts";
import type { StatusWriter } from "../../../src/delegation/status-writer.ts";
import { defaultLogger } from "../../../src/runtime/log.ts";
import { FakeClock } from "./fakes.ts";

function delegation(resourceVersion: string, status?: DelegationStatus): Delegation {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { name: "d", namespace: "ns", uid: "u1", resourceVersion },
    spec: { task: "t", to: "worker" },
    ...(status && { status }),
  } as Delegation;
}

/** Stores every status it is given, bumping the resourceVersion, as the API server does. */
function writerReturning(): StatusWriter & { stored: Delegation[] } {
  const stored: Delegation[] = [];
  return {
    stored,
    async commit(known, status) {
      const next = delegation(String(Number(known.metadata.resourceVersion) + 1), status);
      stored.push(next);
      return next;
    },
  };
}

describe("FencedWrites", () => {
  const owner = { log: defaultLogger };

  it("keeps the cache's copy of the version it wrote, when the watch brought it first", async () => {
    const writer = writerReturning();
    const cache = new Map<string, Delegation>();
    const writes = new FencedWrites(
      delegation("1"),
      {
        writer,
        clock: new FakeClock(),
        terminalWriteRetries: 0,
        stopped: () => false,
        cached: (_ns, name) => cache.get(name),
      },
      owner,
    );
    const watched = delegation("2", { phase: "Running" });
    cache.set("d", watched);
    expect(await writes.write({ phase: "Running" }, "progress", 0, () => false)).toBe(true);
    expect(writes.known).toBe(watched);
  });

  it("keeps the API's reply of a terminal write: the cache holds only a summary of a finished Delegation", async () => {
    const writer = writerReturning();
    const summary = delegation("2", { phase: "Succeeded" });
    const writes = new FencedWrites(
      delegation("1"),
      { writer, clock: new FakeClock(), terminalWriteRetries: 0, stopped: () => false, cached: () => summary },
      owner,
    );
    expect(await writes.write({ phase: "Succeeded", result: "the answer" }, "terminal", 0, () => false)).toBe(true);
    expect(writes.known).toBe(writer.stored[0]);
    expect(writes.known.status?.result).toBe("the answer");
  });

  it("keeps the API's reply when the cache still holds an older version", async () => {
    const writer = writerReturning();
    const stale = delegation("1");
    const writes = new FencedWrites(
      stale,
      { writer, clock: new FakeClock(), terminalWriteRetries: 0, stopped: () => false, cached: () => stale },
      owner,
    );
    expect(await writes.write({ phase: "Running" }, "progress", 0, () => false)).toBe(true);
    expect(writes.known).toBe(writer.stored[0]);
    expect(writes.known.metadata.resourceVersion).toBe("2");
  });
});
