import { describe, expect, it } from "vitest";
import type { Delegation } from "../../../src/api/delegation.ts";
import { KubeStatusWriter } from "../../../src/delegation/status-writer.ts";
import { BestEffortWriteDroppedError } from "../../../src/delegation/write-limiter.ts";
import type { KubeClient } from "../../../src/runtime/client.ts";

function delegation(name: string): Delegation {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { namespace: "ns", name, uid: `uid-${name}`, resourceVersion: "1" },
    spec: { to: "worker", task: "t", priority: 0 },
  };
}

/** A client whose PATCHes wait until the test releases them, in the order they were sent. */
function heldClient() {
  const sent: string[] = [];
  const held: (() => void)[] = [];
  const client = {
    request(_verb: string, path: string) {
      sent.push(path.split("/").at(-2)!);
      return new Promise((resolve) => held.push(() => resolve({ ...delegation(path.split("/").at(-2)!) })));
    },
  } as unknown as KubeClient;
  const releaseNext = async () => {
    held.shift()!();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { client, sent, releaseNext };
}

const mine = () => true;

describe("KubeStatusWriter", () => {
  it("sends waiting writes before waiting best-effort writes", async () => {
    const { client, sent, releaseNext } = heldClient();
    const writer = new KubeStatusWriter(client, { maxConcurrent: 1 });
    const first = writer.commit(delegation("a"), { phase: "Running" }, mine);
    const queued = writer.commit(delegation("b"), { phase: "Pending" }, mine, {
      bestEffort: new AbortController().signal,
    });
    const terminal = writer.commit(delegation("c"), { phase: "Succeeded" }, mine);
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual(["a"]);
    await releaseNext();
    expect(sent).toEqual(["a", "c"]);
    await releaseNext();
    expect(sent).toEqual(["a", "c", "b"]);
    await releaseNext();
    await expect(Promise.all([first, terminal, queued])).resolves.toHaveLength(3);
  });

  it("drops a best-effort write that is superseded while it waits", async () => {
    const { client, sent, releaseNext } = heldClient();
    const writer = new KubeStatusWriter(client, { maxConcurrent: 1 });
    const first = writer.commit(delegation("a"), { phase: "Running" }, mine);
    const drop = new AbortController();
    const queued = writer.commit(delegation("b"), { phase: "Pending" }, mine, { bestEffort: drop.signal });
    await new Promise((r) => setTimeout(r, 0));
    drop.abort();
    await expect(queued).rejects.toBeInstanceOf(BestEffortWriteDroppedError);
    await releaseNext();
    await first;
    const after = writer.commit(delegation("c"), { phase: "Succeeded" }, mine);
    await new Promise((r) => setTimeout(r, 0));
    await releaseNext();
    await after;
    expect(sent).toEqual(["a", "c"]); // b never reached the API server
  });

  it("keeps slots for other writes while best-effort writes are in flight", async () => {
    const { client, sent, releaseNext } = heldClient();
    const writer = new KubeStatusWriter(client, { maxConcurrent: 3, maxConcurrentBestEffort: 1 });
    const bestEffort = () => ({ bestEffort: new AbortController().signal });
    const reports = [
      writer.commit(delegation("p1"), { phase: "Pending" }, mine, bestEffort()),
      writer.commit(delegation("p2"), { phase: "Pending" }, mine, bestEffort()),
    ];
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual(["p1"]); // p2 waits although two slots are free
    const terminal = writer.commit(delegation("t"), { phase: "Succeeded" }, mine);
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual(["p1", "t"]);
    await releaseNext(); // p1 done: p2 may go
    expect(sent).toEqual(["p1", "t", "p2"]);
    await releaseNext();
    await releaseNext();
    await expect(Promise.all([...reports, terminal])).resolves.toHaveLength(3);
  });

  it("sends waiting writes of higher-priority Delegations first", async () => {
    const { client, sent, releaseNext } = heldClient();
    const writer = new KubeStatusWriter(client, { maxConcurrent: 1 });
    const writes = [
      writer.commit(delegation("first"), { phase: "Succeeded" }, mine),
      writer.commit(delegation("low"), { phase: "Succeeded" }, mine, { priority: -5 }),
      writer.commit(delegation("zero"), { phase: "Succeeded" }, mine),
      writer.commit(delegation("high"), { phase: "Succeeded" }, mine, { priority: 1000 }),
      writer.commit(delegation("zero-2"), { phase: "Succeeded" }, mine, { priority: 0 }),
    ];
    await new Promise((r) => setTimeout(r, 0));
    for (let i = 0; i < 5; i++) await releaseNext();
    await Promise.all(writes);
    expect(sent).toEqual(["first", "high", "zero", "zero-2", "low"]);
  });

  it("drops a new best-effort write at once when the most that may wait are waiting", async () => {
    const { client, sent, releaseNext } = heldClient();
    const writer = new KubeStatusWriter(client, { maxConcurrent: 1, maxWaitingBestEffort: 1 });
    const bestEffort = () => ({ bestEffort: new AbortController().signal });
    const first = writer.commit(delegation("a"), { phase: "Succeeded" }, mine);
    const waiting = writer.commit(delegation("p1"), { phase: "Pending" }, mine, bestEffort());
    await new Promise((r) => setTimeout(r, 0));
    await expect(writer.commit(delegation("p2"), { phase: "Pending" }, mine, bestEffort())).rejects.toBeInstanceOf(
      BestEffortWriteDroppedError,
    );
    // Other writes are never dropped.
    const terminal = writer.commit(delegation("t"), { phase: "Succeeded" }, mine);
    await new Promise((r) => setTimeout(r, 0));
    for (let i = 0; i < 3; i++) await releaseNext();
    await Promise.all([first, waiting, terminal]);
    expect(sent).toEqual(["a", "t", "p1"]);
  });
});
