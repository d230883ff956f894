import { describe, expect, it } from "vitest";
import { MAX_INLINE_RESULT_BYTES } from "../../../src/api/delegation.ts";
import { byteLength } from "../../../src/delegation/result.ts";
import { flush, harness, T0 } from "./fakes.ts";

describe("Dispatcher", () => {
  it("places attempts on the least-loaded pod and never exceeds maxConcurrentTasks", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a", "pod-b"]);
    for (let i = 0; i < 5; i++) h.dispatcher.submit(h.server.create(`d${i}`));
    await flush();
    const pods = h.transport.open().map((c) => c.pod);
    expect(pods).toHaveLength(4);
    expect(pods.filter((p) => p === "pod-a")).toHaveLength(2);
    expect(pods.filter((p) => p === "pod-b")).toHaveLength(2);
    expect(h.dispatcher.load("ns", "worker")).toEqual({ queued: 1, inFlight: 4, readyPods: 2, capacity: 4 });

    const first = h.transport.open()[0]!;
    h.transport.succeed(first);
    await flush();
    const open = h.transport.open();
    expect(open).toHaveLength(4);
    expect(open[open.length - 1]!.pod).toBe(first.pod);
    expect(open[open.length - 1]!.body.user).toBe("clawcrew:uid-d4");
    expect(open[open.length - 1]!.target.token).toBe("token-worker");
  });

  it("keeps the cache's copy of the version it wrote last, not a second one", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    const d = h.server.create("slow");
    h.dispatcher.submit(d);
    await flush(); // the attempt's Running write
    expect(h.server.writesOf("slow").map((s) => s.phase)).toEqual(["Running"]);
    const cached = h.server.get(d.metadata.uid!);
    h.dispatcher.submit(cached);
    const older = { ...h.server.get(d.metadata.uid!), metadata: { ...d.metadata } };
    h.dispatcher.submit(older); // an older version (the create's) is not taken
    h.transport.succeed(h.transport.open()[0]!, "answer");
    await flush();
    expect(h.server.writesOf("slow").map((s) => s.phase)).toEqual(["Running", "Succeeded"]);
    expect(h.server.bestEffortWritesOf("slow")).toEqual([false, false]); // Running records the attempt
    expect(h.server.bases[1]).toBe(cached);
  });

  it("starts no attempt while maxPendingTerminalWrites results wait for their write", async () => {
    const h = harness({ maxPendingTerminalWrites: 1 });
    h.endpoints.set("worker", ["pod-a", "pod-b"]); // 4 slots
    for (let i = 0; i < 6; i++) h.dispatcher.submit(h.server.create(`d${i}`));
    await flush();
    expect(h.transport.open()).toHaveLength(4);
    let answer!: () => void;
    h.server.hold = new Promise<void>((resolve) => {
      answer = resolve;
    });
    for (const call of h.transport.open().slice(0, 2)) h.transport.succeed(call);
    await flush();
    // Two slots are free, but terminal writes are pending: d4 and d5 wait.
    expect(h.transport.open()).toHaveLength(2);
    expect(h.dispatcher.load("ns", "worker").queued).toBe(2);
    h.server.hold = undefined;
    answer();
    await flush();
    expect(h.server.writes.filter((w) => w.status.phase === "Succeeded")).toHaveLength(2);
    expect(h.transport.open()).toHaveLength(4);
    expect(h.dispatcher.load("ns", "worker").queued).toBe(0);
  });

  it("dequeues by priority, then creation time, then name", async () => {
    const h = harness();
    h.agents.set("worker", 1);
    h.endpoints.set("worker", ["pod-a"]);
    h.dispatcher.submit(h.server.create("busy"));
    h.dispatcher.submit(h.server.create("old-low", { priority: 0 }, undefined, T0 - 5000));
    h.dispatcher.submit(h.server.create("new-high", { priority: 10 }));
    h.dispatcher.submit(h.server.create("b-low", { priority: 0 }, undefined, T0 - 5000));
    await flush();
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const call = h.transport.open()[0]!;
      order.push(call.body.user.replace("clawcrew:uid-", ""));
      h.transport.succeed(call);
      await flush();
    }
    expect(order).toEqual(["busy", "new-high", "b-low", "old-low"]);
  });

  it("records each attempt (Running, on its pod) before its request is sent", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    let land!: () => void;
    h.server.hold = new Promise<void>((resolve) => {
      land = resolve;
    });
    h.dispatcher.submit(h.server.create("fast"));
    await h.clock.advance(5000);
    // The attempt's write has not landed: nothing is sent, so a leader dying now leaves no unrecorded run.
    expect(h.transport.calls).toHaveLength(0);
    h.server.hold = undefined;
    land();
    await flush();
    const running = h.server.writesOf("fast")[0]!;
    expect(running.phase).toBe("Running");
    expect(running.startTime).toBeDefined();
    expect(running.attempts).toEqual([
      expect.objectContaining({ id: "a1", number: 1, outcome: "Running", pod: "pod-a", podIP: "10.0.0.1" }),
    ]);
    expect(h.transport.open()).toHaveLength(1);
    h.transport.succeed(h.transport.open()[0]!, "quick answer");
    await flush();

    expect(h.server.writesOf("fast").map((s) => s.phase)).toEqual(["Running", "Succeeded"]);
    const done = h.server.writesOf("fast")[1]!;
    expect(done).toMatchObject({ reason: "Completed", result: "quick answer", agent: "worker", pod: "pod-a" });
    expect(done.usage).toEqual({ totalTokens: 3 });
    expect(done.conditions).toEqual([
      expect.objectContaining({ type: "Ready", status: "True" }),
      expect.objectContaining({ type: "Reconciling", status: "False" }),
      expect.objectContaining({ type: "Stalled", status: "False" }),
      expect.objectContaining({ type: "Complete", status: "True" }),
    ]);
    expect(done.attempts).toEqual([
      expect.objectContaining({ id: "a1", number: 1, outcome: "Succeeded", pod: "pod-a", podIP: "10.0.0.1" }),
    ]);
  });

  it("sends nothing for an attempt whose record lost to another writer", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    const d = h.server.create("taken");
    // Another leader recovered it first: its attempt is the last one, so ours cannot be recorded.
    h.server.external(d.metadata.uid!, {
      phase: "Running",
      attempts: [{ id: "theirs", number: 1, startTime: "2030-01-01T00:00:00Z", outcome: "Running" }],
    });
    h.dispatcher.submit(d);
    await h.clock.advance(5000);
    expect(h.transport.calls).toHaveLength(0);
    expect(h.server.writesOf("taken")).toHaveLength(0);
    expect(h.dispatcher.has(d.metadata.uid!)).toBe(false);
  });

  it("retries a retryable failure on another pod after a backoff", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a", "pod-b"]);
    h.dispatcher.submit(h.server.create("d"));
    await flush();
    const first = h.transport.open()[0]!;
    h.transport.fail(first, 503);
    await flush();
    expect(h.transport.open()).toHaveLength(0); // backing off
    const retrying = h.server.writesOf("d").at(-1)!;
    expect(retrying.phase).toBe("Running");
    expect(retrying.attempts![0]).toMatchObject({ outcome: "Failed", reason: "AgentError", pod: first.pod });

    await h.clock.advance(999);
    expect(h.transport.open()).toHaveLength(0);
    await h.clock.advance(1);
    const second = h.transport.open()[0]!;
    expect(second.pod).not.toBe(first.pod);
    h.transport.succeed(second);
    await flush();
    const done = h.server.writesOf("d").at(-1)!;
    expect(done.phase).toBe("Succeeded");
    expect(done.attempts!.map((a) => [a.number, a.outcome, a.pod])).toEqual([
      [1, "Failed", first.pod],
      [2, "Succeeded", second.pod],
    ]);
  });

  it("fails after maxAttempts, and at once on a 400", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    h.dispatcher.submit(h.server.create("retries", { maxAttempts: 2 }));
    await flush();
    h.transport.fail(h.transport.open()[0]!, 502);
    await h.clock.advance(1000);
    // Only pod-a exists, so the retry goes there again.
    h.transport.fail(h.transport.open()[0]!, 502);
    await flush();
    const last = h.server.writesOf("retries").at(-1)!;
    expect(last).toMatchObject({ phase: "Failed", reason: "AgentError" });
    expect(last.attempts).toHaveLength(2);
    expect(last.conditions).toEqual([
      expect.objectContaining({ type: "Ready", status: "False", reason: "AgentError" }),
      expect.objectContaining({ type: "Reconciling", status: "False", reason: "AgentError" }),
      expect.objectContaining({ type: "Stalled", status: "True", reason: "AgentError" }),
      expect.objectContaining({ type: "Failed", status: "True", reason: "AgentError" }),
    ]);

    h.dispatcher.submit(h.server.create("bad"));
    await flush();
    h.transport.fail(h.transport.open()[0]!, 400);
    await flush();
    expect(h.server.writesOf("bad").map((s) => [s.phase, s.reason])).toEqual([
      ["Running", undefined],
      ["Failed", "AgentError"],
    ]);
  });

  it("fails at the deadline while queued: AgentUnavailable without ready pods, TimedOut when busy", async () => {
    const h = harness();
    h.dispatcher.submit(h.server.create("nopods", { timeoutSeconds: 10 }));
    await h.clock.advance(9_999);
    expect(h.server.writesOf("nopods").map((s) => s.phase)).toEqual(["Pending"]); // the 5 s Queued write
    expect(h.server.writesOf("nopods")[0]!.reason).toBe("Queued");
    await h.clock.advance(1);
    expect(h.server.writesOf("nopods").at(-1)).toMatchObject({ phase: "Failed", reason: "AgentUnavailable" });
    // The Queued report waits behind other writes; the terminal write does not.
    expect(h.server.bestEffortWritesOf("nopods")).toEqual([true, false]);

    h.agents.set("worker", 1);
    h.endpoints.set("worker", ["pod-a"]);
    h.dispatcher.submit(h.server.create("holder", { timeoutSeconds: 600 }, undefined, h.clock.now()));
    h.dispatcher.submit(h.server.create("waiting", { timeoutSeconds: 3 }, undefined, h.clock.now()));
    await h.clock.advance(3000);
    expect(h.server.writesOf("waiting").at(-1)).toMatchObject({ phase: "Failed", reason: "TimedOut" });
    expect(h.server.writesOf("waiting").at(-1)!.attempts).toBeUndefined();
  });

  it("aborts the request when the deadline passes during an attempt", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    h.dispatcher.submit(h.server.create("slow", { timeoutSeconds: 2 }));
    await flush();
    const call = h.transport.open()[0]!;
    await h.clock.advance(2000);
    expect(call.signal.aborted).toBe(true);
    const last = h.server.writesOf("slow").at(-1)!;
    expect(last).toMatchObject({ phase: "Failed", reason: "TimedOut" });
    expect(last.attempts![0]).toMatchObject({ outcome: "Failed", reason: "TimedOut" });
  });

  it("aborts attempts on a pod that leaves the endpoints (PodGone) and retries elsewhere", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    h.dispatcher.submit(h.server.create("d"));
    await flush();
    const call = h.transport.open()[0]!;
    h.endpoints.set("worker", ["pod-b"]);
    await flush();
    expect(call.signal.aborted).toBe(true);
    await h.clock.advance(1000);
    const next = h.transport.open()[0]!;
    expect(next.pod).toBe("pod-b");
    h.transport.succeed(next);
    await flush();
    const done = h.server.writesOf("d").at(-1)!;
    expect(done.attempts!.map((a) => a.reason ?? a.outcome)).toEqual(["PodGone", "Succeeded"]);

    // A terminating pod keeps its attempts, serving or not (they finish within its grace period);
    // they end PodGone only once the pod has left the slices.
    h.dispatcher.submit(h.server.create("e"));
    await flush();
    const kept = h.transport.open()[0]!;
    h.endpoints.set("worker", [{ pod: "pod-b", ready: false, serving: true, terminating: true }]);
    await flush();
    expect(kept.signal.aborted).toBe(false);
    h.endpoints.set("worker", [{ pod: "pod-b", ready: false, serving: false, terminating: true }]);
    await flush();
    expect(kept.signal.aborted).toBe(false);
    h.endpoints.set("worker", []);
    await flush();
    expect(kept.signal.aborted).toBe(true);
  });

  it("drops a task whose object another writer took over, and never writes a terminal phase", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    const d = h.server.create("d");
    h.dispatcher.submit(d);
    await flush(); // our attempt's Running write
    expect(h.server.writesOf("d")).toHaveLength(1);
    // Another leader recovered it: attempt 1 Interrupted, attempt 2 is theirs.
    const theirs = h.server.get(d.metadata.uid!).status!;
    h.server.external(d.metadata.uid!, {
      ...theirs,
      attempts: [
        { ...theirs.attempts![0]!, outcome: "Failed", reason: "Interrupted" },
        { id: "other", number: 2, startTime: "2030-01-01T00:00:01Z", outcome: "Running" },
      ],
    });
    h.transport.succeed(h.transport.open()[0]!);
    await flush();
    expect(h.server.writesOf("d")).toHaveLength(1);
    expect(h.dispatcher.has(d.metadata.uid!)).toBe(false);
    expect(h.recent.isFinished(d.metadata.uid!)).toBe(false);
    // Re-submitting the other leader's Running copy right away is refused for a grace period.
    expect(h.dispatcher.submit(h.server.get(d.metadata.uid!))).toMatchObject({ accepted: false });
  });

  it("keeps a tombstone until the informer shows the terminal object", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    const d = h.server.create("d");
    h.dispatcher.submit(d);
    await h.clock.advance(300);
    const staleRunning = h.server.get(d.metadata.uid!);
    h.transport.succeed(h.transport.open()[0]!);
    await flush();
    expect(h.recent.isFinished(d.metadata.uid!)).toBe(true);
    expect(h.dispatcher.submit(staleRunning).accepted).toBe(false);
    expect(h.dispatcher.submit(d).accepted).toBe(false);
    await flush();
    expect(h.transport.calls).toHaveLength(1);
    h.dispatcher.forget("ns", "d", d.metadata.uid!); // the cache shows it terminal
    expect(h.recent.isFinished(d.metadata.uid!)).toBe(false);
  });

  it("recovers a Running Delegation: Interrupted first, then attempt n+1 (not counted)", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    const d = h.server.create(
      "d",
      { maxAttempts: 1 },
      {
        phase: "Running",
        agent: "worker",
        pod: "old-pod",
        attempts: [
          {
            id: "old",
            number: 1,
            agent: "worker",
            pod: "old-pod",
            startTime: "2030-01-01T00:00:00Z",
            outcome: "Running",
          },
        ],
      },
    );
    h.dispatcher.submit(d);
    await flush();
    const claim = h.server.writesOf("d")[0]!;
    expect(claim.attempts).toEqual([expect.objectContaining({ id: "old", outcome: "Failed", reason: "Interrupted" })]);
    const call = h.transport.open()[0]!;
    h.transport.succeed(call);
    await flush();
    const done = h.server.writesOf("d").at(-1)!;
    expect(done.phase).toBe("Succeeded");
    expect(done.attempts!.map((a) => [a.number, a.reason ?? a.outcome])).toEqual([
      [1, "Interrupted"],
      [2, "Succeeded"],
    ]);
  });

  it("a recovery whose claim loses (another leader wrote) runs nothing", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    const d = h.server.create(
      "d",
      {},
      { phase: "Running", attempts: [{ id: "old", number: 1, startTime: "2030-01-01T00:00:00Z", outcome: "Running" }] },
    );
    h.server.external(d.metadata.uid!, { phase: "Succeeded", reason: "Completed" });
    h.dispatcher.submit(d);
    await flush();
    expect(h.transport.calls).toHaveLength(0);
    expect(h.server.writes).toHaveLength(0);
  });

  it("stop() aborts every request and writes nothing more", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a", "pod-b"]);
    for (let i = 0; i < 6; i++) h.dispatcher.submit(h.server.create(`d${i}`));
    await flush();
    const calls = h.transport.open();
    expect(calls).toHaveLength(4);
    // Only the four attempts' records, each before its request.
    expect(h.server.writes.map((w) => w.status.phase)).toEqual(["Running", "Running", "Running", "Running"]);
    await h.dispatcher.stop();
    expect(calls.every((c) => c.signal.aborted)).toBe(true);
    await h.clock.advance(60_000);
    expect(h.server.writes).toHaveLength(4);
    expect(h.transport.calls).toHaveLength(4);
    expect(h.dispatcher.submit(h.server.create("late")).accepted).toBe(false);
  });

  it("cancel: with a record it writes Failed/Cancelled, without (a delete) it writes nothing", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    const a = h.server.create("a");
    const b = h.server.create("b");
    h.dispatcher.submit(a);
    h.dispatcher.submit(b);
    await flush();
    const [callA, callB] = h.transport.open();
    expect(h.dispatcher.cancel(a.metadata.uid!, { record: true })).toBe(true);
    h.dispatcher.forget("ns", "b"); // deleted
    await flush();
    expect(callA!.signal.aborted && callB!.signal.aborted).toBe(true);
    expect(h.server.writesOf("a").map((s) => [s.phase, s.reason])).toEqual([
      ["Running", undefined],
      ["Failed", "Cancelled"],
    ]);
    expect(h.server.writesOf("b").map((s) => s.phase)).toEqual(["Running"]); // its attempt's record, nothing after
  });

  it("fails at once when the target Agent does not exist", async () => {
    const h = harness();
    h.dispatcher.submit(h.server.create("d", { to: "ghost" }));
    await flush();
    expect(h.server.writesOf("d")).toEqual([
      expect.objectContaining({ phase: "Failed", reason: "AgentUnavailable", message: "Agent ghost not found" }),
    ]);
  });

  it("stores a long result in a ConfigMap and keeps a UTF-8-safe prefix inline", async () => {
    const h = harness();
    h.endpoints.set("worker", ["pod-a"]);
    h.dispatcher.submit(h.server.create("big"));
    await flush();
    const text = "é".repeat(20_000); // 40,000 bytes
    h.transport.succeed(h.transport.open()[0]!, text);
    await flush();
    const done = h.server.writesOf("big").at(-1)!;
    const name = `big-result-1-${done.attempts![0]!.id}`;
    expect(done.resultRef).toEqual({ name, key: "result" });
    expect(h.results.saved.get(name)).toBe(text);
    expect(byteLength(done.result!)).toBeLessThanOrEqual(MAX_INLINE_RESULT_BYTES);
    expect(done.result).toMatch(new RegExp(`^(é)+\\n…\\[truncated: full result in ConfigMap ${name}\\]$`));
  });

  it("chooses among capability candidates by free capacity", async () => {
    const h = harness();
    h.agents.set("alpha", 1);
    h.agents.set("beta", 4);
    h.endpoints.set("alpha", ["alpha-0"]);
    h.endpoints.set("beta", ["beta-0"]);
    h.dispatcher.submit(h.server.create("c", { to: undefined, team: "t", capability: "x" }), () => ({
      admitted: true,
      candidates: ["alpha", "beta"],
    }));
    await flush();
    expect(h.transport.open()[0]!.pod).toBe("beta-0");
  });

  it("adds the parent hint for delegators", async () => {
    const h = harness({ isDelegator: () => true });
    h.endpoints.set("worker", ["pod-a"]);
    h.dispatcher.submit(h.server.create("d", { from: "ceo", context: [{ role: "assistant", content: "earlier" }] }));
    await flush();
    const body = h.transport.open()[0]!.body;
    expect(body.model).toBe("openclaw/default");
    expect(body.stream).toBe(false);
    expect(body.messages.map((m) => m.role)).toEqual(["system", "assistant", "user"]);
    expect(body.messages[0]!.content).toContain('pass parent: "d"');
    expect(body.messages[2]!.content).toBe("task d");
  });
});

describe("an Agent that can never get a pod", () => {
  it("fails a Delegation at once with the reason, and queues it when the Agent scales from zero", async () => {
    let reason: string | undefined = "Agent worker has spec.replicas 0 and no spec.scaling";
    const agents = new Map([["worker", 2]]);
    const d2 = harness({
      agents: { slots: (_ns, name) => agents.get(name), unavailable: () => reason, onChange: () => () => {} },
    });
    d2.dispatcher.submit(d2.server.create("cold"));
    await flush();
    expect(d2.server.writesOf("cold").at(-1)).toMatchObject({
      phase: "Failed",
      reason: "AgentUnavailable",
      message: "Agent worker has spec.replicas 0 and no spec.scaling",
    });
    reason = undefined;
    d2.dispatcher.submit(d2.server.create("scaled"));
    await flush();
    expect(d2.server.writesOf("scaled")).toEqual([]);
    expect(d2.dispatcher.load("ns", "worker").queued).toBe(1);
  });

  it("tells load listeners of every change of queued and in-flight work", async () => {
    const h = harness();
    const seen: string[] = [];
    h.dispatcher.onLoadChange((_ns, agent) => seen.push(agent));
    h.endpoints.set("worker", ["pod-a"]);
    h.dispatcher.submit(h.server.create("d"));
    await flush();
    expect(seen.length).toBeGreaterThanOrEqual(2); // queued, then started
    expect(h.dispatcher.podLoads("ns", "worker")).toEqual(new Map([["pod-a", 1]]));
    const before = seen.length;
    h.transport.succeed(h.transport.open()[0]!);
    await flush();
    expect(seen.length).toBeGreaterThan(before);
    expect(h.dispatcher.podLoads("ns", "worker")).toEqual(new Map([["pod-a", 0]]));
  });
});
