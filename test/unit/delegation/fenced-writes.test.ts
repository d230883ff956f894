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
        terminalWriteMaxBackoffMs: 30_000,
        stopping: new AbortController().signal,
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
      {
        writer,
        clock: new FakeClock(),
        terminalWriteMaxBackoffMs: 30_000,
        stopping: new AbortController().signal,
        cached: () => summary,
      },
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
      {
        writer,
        clock: new FakeClock(),
        terminalWriteMaxBackoffMs: 30_000,
        stopping: new AbortController().signal,
        cached: () => stale,
      },
      owner,
    );
    expect(await writes.write({ phase: "Running" }, "progress", 0, () => false)).toBe(true);
    expect(writes.known).toBe(writer.stored[0]);
    expect(writes.known.metadata.resourceVersion).toBe("2");
  });

  it("retries a failing terminal write until it lands, waiting 0.5 s doubling up to the cap", async () => {
    const clock = new FakeClock();
    const stored = writerReturning();
    const tries: number[] = [];
    const writer: StatusWriter = {
      async commit(known, status, isStillMine) {
        tries.push(clock.now());
        if (tries.length <= 8) throw new Error("503 the API server is unavailable");
        return stored.commit(known, status, isStillMine);
      },
    };
    const writes = new FencedWrites(
      delegation("1"),
      { writer, clock, terminalWriteMaxBackoffMs: 10_000, stopping: new AbortController().signal },
      owner,
    );
    let landed: boolean | undefined;
    void writes
      .write({ phase: "Succeeded", result: "kept" }, "terminal", 0, () => false)
      .then((ok) => {
        landed = ok;
      });
    await clock.advance(120_000);
    expect(landed).toBe(true);
    expect(stored.stored.at(-1)?.status?.result).toBe("kept");
    const waits = tries.slice(1).map((t, i) => t - (tries[i] ?? 0));
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it("stops retrying a terminal write at once when the dispatcher stops, and reports it not stored", async () => {
    const clock = new FakeClock();
    const stopping = new AbortController();
    let calls = 0;
    const writer: StatusWriter = {
      async commit() {
        calls++;
        throw new Error("503 the API server is unavailable");
      },
    };
    const writes = new FencedWrites(
      delegation("1"),
      { writer, clock, terminalWriteMaxBackoffMs: 30_000, stopping: stopping.signal },
      owner,
    );
    const result = writes.write({ phase: "Succeeded" }, "terminal", 0, () => false);
    await clock.advance(1_600); // two failures, waiting 2 s for the third
    expect(calls).toBe(3);
    stopping.abort();
    expect(await result).toBe(false);
    expect(calls).toBe(3);
    expect(clock.timers.size).toBe(0);
  });
});
