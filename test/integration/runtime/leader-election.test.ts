/** Leader election between real candidates on a real Lease, one of them behind a breakable network. */
import type { V1Lease } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, FaultyProxy } from "../../../harness/index.ts";
import { connectionVia, TestResources, testLogger } from "../../../harness/vitest.ts";
import { KubeClient } from "../../../src/runtime/client.ts";
import {
  LeaderElectionConfigError,
  type LeaderElectionOptions,
  LeaderElector,
} from "../../../src/runtime/leader-election.ts";

let t: TestResources;

beforeAll(() => {
  t = new TestResources();
});

afterAll(async () => {
  await t.cleanup();
});

interface Candidate {
  elector: LeaderElector;
  /** performance.now() of onStartedLeading / onStoppedLeading. */
  startedAt?: number;
  stoppedAt?: number;
  /** The signal onStartedLeading received. */
  signal?: AbortSignal;
  /** Resolves when the term ends. */
  done: Promise<void>;
}

type Timing = Pick<LeaderElectionOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">;

function candidate(identity: string, namespace: string, client: KubeClient, timing: Timing): Candidate {
  const c: Partial<Candidate> = {};
  const elector = new LeaderElector({
    client,
    namespace,
    name: "operator-lock",
    identity,
    ...timing,
    logger: testLogger,
    onStartedLeading: (signal) => {
      c.startedAt = performance.now();
      c.signal = signal;
    },
    onStoppedLeading: () => {
      c.stoppedAt = performance.now();
    },
  });
  c.elector = elector;
  c.done = elector.run();
  t.defer(() => elector.stop());
  return c as Candidate;
}

async function readLease(namespace: string): Promise<V1Lease> {
  return t.client.get<V1Lease>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/operator-lock`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("LeaderElector", () => {
  it("lets exactly one of two candidates lead; after a graceful stop the other takes over at once", async () => {
    const namespace = await t.namespace("rt-leader");
    // A long lease: a takeover much faster than 15 s can only come from the release.
    const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 8_000, retryPeriodMs: 500 };
    const a = candidate("candidate-a", namespace, t.client, timing);
    const b = candidate("candidate-b", namespace, t.client, timing);

    const leader = await eventually("a leader", async () =>
      a.elector.isLeader() ? a : b.elector.isLeader() ? b : undefined,
    );
    const follower = leader === a ? b : a;

    // For three seconds (six renewals), never both, always the same one.
    const renewTimes = new Set<string>();
    for (let i = 0; i < 30; i++) {
      expect([leader.elector.isLeader(), follower.elector.isLeader()]).toEqual([true, false]);
      const lease = await readLease(namespace);
      expect(lease.spec?.holderIdentity).toBe(leader.elector.identity);
      renewTimes.add(String(lease.spec?.renewTime));
      await sleep(100);
    }
    expect(renewTimes.size).toBeGreaterThanOrEqual(3); // the leader keeps renewing
    expect(follower.elector.leader()).toBe(leader.elector.identity);
    expect(follower.startedAt).toBeUndefined();
    const transitionsBefore = (await readLease(namespace)).spec?.leaseTransitions ?? 0;

    const stoppedAt = performance.now();
    await leader.elector.stop();
    await leader.done;
    expect(leader.stoppedAt).toBeDefined();
    expect(leader.signal?.aborted).toBe(true);
    expect(leader.elector.isLeader()).toBe(false);

    await eventually("the follower to take over", async () => (follower.elector.isLeader() ? true : undefined));
    const takeoverMs = (follower.startedAt ?? Number.POSITIVE_INFINITY) - stoppedAt;
    expect(takeoverMs).toBeLessThan(3_000);
    const lease = await readLease(namespace);
    expect(lease.spec?.holderIdentity).toBe(follower.elector.identity);
    expect(lease.spec?.leaseTransitions).toBe(transitionsBefore + 1);
  });

  it("a leader that cannot renew stops leading before its lease expires; then a candidate takes over", async () => {
    const namespace = await t.namespace("rt-leader-cut");
    const timing = { leaseDurationMs: 5_000, renewDeadlineMs: 2_500, retryPeriodMs: 500 };
    const proxy = await FaultyProxy.start(t.kc.getCurrentCluster()!.server);
    t.defer(() => proxy.close());
    const cutOffClient = new KubeClient(connectionVia(t.connection, proxy.url));
    t.defer(() => cutOffClient.close());

    const a = candidate("cut-off", namespace, cutOffClient, timing);
    await eventually("cut-off to lead", async () => (a.elector.isLeader() ? true : undefined));
    const b = candidate("standby", namespace, t.client, timing);
    await eventually("standby to see the leader", async () => (b.elector.leader() === "cut-off" ? true : undefined));

    // The leader's network goes silent: open connections freeze, new ones hang.
    proxy.freezeAll();
    proxy.setMode("blackhole");
    const cutAt = performance.now();

    await eventually("cut-off to stop leading", async () => (a.stoppedAt !== undefined ? true : undefined));
    await a.done; // the term is over
    expect(a.elector.isLeader()).toBe(false);
    expect(a.signal?.aborted).toBe(true);
    // It gave up within renewDeadline of its last renewal (<= one retry period before the cut).
    expect(a.stoppedAt! - cutAt).toBeLessThan(timing.renewDeadlineMs + 1_500);

    await eventually("standby to take over", async () => (b.elector.isLeader() ? true : undefined), {
      timeoutMs: 20_000,
    });
    // Never two leaders: the old one had stopped before the new one started.
    expect(b.startedAt!).toBeGreaterThan(a.stoppedAt!);
    // The standby waited for the lease to expire (no release could reach the API).
    expect(b.startedAt! - cutAt).toBeGreaterThan(timing.leaseDurationMs - 2_000);
    expect((await readLease(namespace)).spec?.holderIdentity).toBe("standby");
  });

  it("rejects timings that cannot work", () => {
    const base = {
      client: t.client,
      namespace: "x",
      name: "y",
      identity: "z",
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 5_000, renewDeadlineMs: 5_000 })).toThrow(
      LeaderElectionConfigError,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      LeaderElectionConfigError,
    );
  });
});
