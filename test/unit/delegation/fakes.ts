/** Fakes for the dispatcher's dependencies: a manual clock, a transport, a status "server", endpoints. */
import type { Delegation, DelegationStatus } from "../../../src/api/delegation.ts";
import type { Clock } from "../../../src/delegation/clock.ts";
import { Dispatcher } from "../../../src/delegation/dispatcher.ts";
import type { DispatcherDeps } from "../../../src/delegation/dispatcher-deps.ts";
import type { DialTarget, EndpointSource, PodEndpoint } from "../../../src/delegation/pod-endpoints.ts";
import { effectivePolicy } from "../../../src/delegation/policy.ts";
import { RecentWrites } from "../../../src/delegation/recent-writes.ts";
import { type ResultStore, resultConfigMapName } from "../../../src/delegation/result.ts";
import type { CommitOptions, StatusWriter } from "../../../src/delegation/status-writer.ts";
import {
  type ChatBody,
  type ChatResult,
  type ChatTarget,
  DeliveryError,
  type Transport,
} from "../../../src/delegation/transport.ts";

export const T0 = Date.parse("2030-01-01T00:00:00Z");

/** Lets promise chains run (several macrotask turns: writes chain through a few awaits). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  t = T0;
  #seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await flush();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = target;
    await flush();
  }
}

export interface Call {
  target: ChatTarget;
  body: ChatBody;
  signal: AbortSignal;
  pod: string;
  resolve: (result: ChatResult) => void;
  reject: (error: unknown) => void;
  settled: boolean;
}

export class FakeTransport {
  readonly calls: Call[] = [];
  readonly transport: Transport = (target, body, signal) =>
    new Promise<ChatResult>((resolve, reject) => {
      const call: Call = {
        target,
        body,
        signal,
        pod: target.host,
        settled: false,
        resolve: (r) => {
          call.settled = true;
          resolve(r);
        },
        reject: (e) => {
          call.settled = true;
          reject(e);
        },
      };
      signal.addEventListener("abort", () => call.reject(new DeliveryError("aborted", "aborted")), { once: true });
      this.calls.push(call);
    });

  open(): Call[] {
    return this.calls.filter((c) => !c.settled);
  }

  succeed(call: Call, content = "done", usage = { totalTokens: 3 }): void {
    call.resolve({ content, usage });
  }

  fail(call: Call, status: number): void {
    call.reject(new DeliveryError("http", `the gateway answered ${status}`, status));
  }
}

/** The API server's view of Delegations: resourceVersions, conflicts, and every write in order. */
export class FakeServer implements StatusWriter {
  readonly objects = new Map<string, Delegation>();
  readonly writes: { name: string; status: DelegationStatus; bestEffort: boolean }[] = [];
  #rv = 100;

  create(name: string, spec: Partial<Delegation["spec"]> = {}, status?: DelegationStatus, created = T0): Delegation {
    const d: Delegation = {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Delegation",
      metadata: {
        name,
        namespace: "ns",
        uid: `uid-${name}`,
        generation: 1,
        resourceVersion: String(++this.#rv),
        creationTimestamp: new Date(created).toISOString(),
      },
      spec: { to: "worker", task: `task ${name}`, priority: 0, ...spec },
      ...(status && { status }),
    };
    this.objects.set(d.metadata.uid!, structuredClone(d));
    return d;
  }

  get(uid: string): Delegation {
    return structuredClone(this.objects.get(uid)!);
  }

  /** Another writer changes the object (bumps the resourceVersion). */
  external(uid: string, status: DelegationStatus): void {
    const d = this.objects.get(uid)!;
    d.status = status;
    d.metadata.resourceVersion = String(++this.#rv);
  }

  writesOf(name: string): DelegationStatus[] {
    return this.writes.filter((w) => w.name === name).map((w) => w.status);
  }

  /** The `known` object of every commit, in order. */
  readonly bases: Delegation[] = [];

  /** Per write of `name`, in order: whether it was best effort (CommitOptions.bestEffort). */
  bestEffortWritesOf(name: string): boolean[] {
    return this.writes.filter((w) => w.name === name).map((w) => w.bestEffort);
  }

  /** While set, every commit waits for it (an API server that is slow to answer). */
  hold: Promise<void> | undefined;

  async commit(
    known: Delegation,
    next: DelegationStatus,
    isStillMine: (fresh: Delegation) => boolean,
    options: CommitOptions = {},
  ) {
    this.bases.push(known);
    await Promise.resolve();
    await this.hold;
    const current = this.objects.get(known.metadata.uid!);
    if (!current) return undefined;
    if (current.metadata.resourceVersion !== known.metadata.resourceVersion && !isStillMine(structuredClone(current))) {
      return undefined;
    }
    current.status = structuredClone(next);
    current.metadata.resourceVersion = String(++this.#rv);
    this.writes.push({ name: current.metadata.name!, status: structuredClone(next), bestEffort: !!options.bestEffort });
    return structuredClone(current);
  }
}

export class FakeEndpoints implements EndpointSource {
  readonly pods = new Map<string, PodEndpoint[]>();
  readonly #listeners = new Set<(ns: string, agent: string) => void>();

  set(agent: string, pods: (string | Partial<PodEndpoint>)[]): void {
    this.pods.set(
      agent,
      pods.map((p, i) => {
        const base = typeof p === "string" ? { pod: p } : p;
        return { ip: `10.0.0.${i + 1}`, port: 18789, ready: true, serving: true, terminating: false, pod: "", ...base };
      }),
    );
    for (const l of this.#listeners) l("ns", agent);
  }

  endpoints(_ns: string, agent: string): PodEndpoint[] {
    return this.pods.get(agent) ?? [];
  }

  readyPods(ns: string, agent: string): PodEndpoint[] {
    return this.endpoints(ns, agent).filter((e) => e.ready && !e.terminating);
  }

  /** The pod name is the host, so tests see which pod a call went to. */
  dialTarget(_ns: string, _agent: string, e: PodEndpoint): DialTarget {
    return { host: e.pod, port: e.port };
  }

  onChange(callback: (ns: string, agent: string) => void): () => void {
    this.#listeners.add(callback);
    return () => this.#listeners.delete(callback);
  }
}

export class FakeResults implements ResultStore {
  readonly saved = new Map<string, string>();
  readonly discarded: string[] = [];

  async save(d: Delegation, n: number, id: string, text: string) {
    const name = resultConfigMapName(d.metadata.name!, n, id);
    this.saved.set(name, text);
    return { name, key: "result" };
  }

  async discard(d: Delegation, n: number, id: string): Promise<void> {
    this.discarded.push(resultConfigMapName(d.metadata.name!, n, id));
  }

  async read(_ns: string, ref: { name: string }) {
    return this.saved.get(ref.name);
  }
}

export interface Harness {
  clock: FakeClock;
  transport: FakeTransport;
  server: FakeServer;
  endpoints: FakeEndpoints;
  results: FakeResults;
  dispatcher: Dispatcher;
  agents: Map<string, number>;
  recent: RecentWrites;
}

export function harness(overrides: Partial<DispatcherDeps> = {}): Harness {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const server = new FakeServer();
  const endpoints = new FakeEndpoints();
  const results = new FakeResults();
  const agents = new Map<string, number>([["worker", 2]]);
  const recent = new RecentWrites();
  let id = 0;
  const dispatcher = new Dispatcher({
    endpoints,
    tokens: { tokenOf: (_ns, agent) => `token-${agent}` },
    agents: { slots: (_ns, name) => agents.get(name), onChange: () => () => {} },
    recent,
    policy: (d) => effectivePolicy(d, undefined, undefined, clock.now()),
    transport: transport.transport,
    writer: server,
    results,
    clock,
    backoff: { random: () => 0 },
    randomId: () => `a${++id}`,
    logger: silentLogger,
    ...overrides,
  });
  return { clock, transport, server, endpoints, results, dispatcher, agents, recent };
}

const noop = () => {};
// biome-ignore lint/suspicious/noExplicitAny: a minimal pino stand-in
export const silentLogger: any = {
  child: () => silentLogger,
  info: noop,
  warn: noop,
  error: noop,
  debug: noop,
  trace: noop,
  fatal: noop,
};
