/**
 * Scales swarms (Agents with spec.scaling) while this process leads, on events, not a period: a
 * Delegation queued, started or finished (the dispatcher's load), a pod ready or gone (the
 * EndpointSlices), or the Agent itself changing. With mode Operator it writes spec.replicas
 * through the scale subresource; with mode External it only reports (status.scaling, metrics).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Agent } from "../api/agent.ts";
import { addAgentIndexes, BY_SCALING_MODE } from "../api/indexes.ts";
import { AGENT_KIND } from "../api/registry.ts";
import type { Dispatcher } from "../delegation/dispatcher.ts";
import type { EndpointTracker } from "../delegation/pod-endpoints.ts";
import type { KubeClient } from "../runtime/client.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import { errorFields, type Logger } from "../runtime/log.ts";
import { resourcePath } from "../runtime/resource.ts";
import { objectKey, parseKey } from "../runtime/store.ts";
import { metaTime } from "../runtime/time.ts";
import { SCALING_FIELD_MANAGER } from "./conflicts.ts";
import { type Demand, decide, desiredReplicas, SlidingWindowMax } from "./desired.ts";
import type { ScalingMetrics } from "./metrics.ts";
import { planRemoval, writeDeletionCosts } from "./scale-down.ts";

/** status.scaling is written at most this often per Agent; the scale itself is never delayed. */
const STATUS_INTERVAL_MS = 1000;
/** After a failed write, the Agent is looked at again this much later. */
const RETRY_MS = 1000;

export interface AutoscalerDeps {
  client: Pick<KubeClient, "request">;
  agents: Pick<Informer<KubernetesObject>, "get" | "on" | "addIndexer" | "byIndex">;
  dispatcher: Pick<Dispatcher, "load" | "podLoads" | "onLoadChange">;
  endpoints: Pick<EndpointTracker, "endpoints" | "drain" | "undrain" | "onChange">;
  /** True when the agent leads (delegates in) a team: such an agent is not scaled. */
  isLead: (namespace: string, agent: string) => boolean;
  events: EventRecorder;
  logger: Logger;
  metrics?: ScalingMetrics | undefined;
  now?: () => number;
}

interface Swarm {
  window: SlidingWindowMax;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  /** What we wrote last, and the Agent's resourceVersion before it: the cache may not show it yet. */
  written: { replicas: number; before: string | undefined } | undefined;
  status: { text: string; at: number } | undefined;
}

export class Autoscaler {
  readonly #deps: AutoscalerDeps;
  readonly #now: () => number;
  readonly #swarms = new Map<string, Swarm>();
  readonly #dirty = new Set<string>();
  /** Keys being evaluated; a change meanwhile evaluates them again after. */
  readonly #busy = new Set<string>();
  #flushScheduled = false;
  #stopped = false;
  readonly #pending = new Set<Promise<void>>();
  #unsubscribe: (() => void)[] = [];

  constructor(deps: AutoscalerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    addAgentIndexes(deps.agents);
  }

  start(): void {
    const { agents, dispatcher, endpoints } = this.#deps;
    const agentChanged = (obj: KubernetesObject) => this.#mark(objectKey(obj));
    this.#unsubscribe = [
      agents.on("add", agentChanged),
      agents.on("update", (_old, obj) => agentChanged(obj)),
      agents.on("delete", agentChanged),
      dispatcher.onLoadChange((namespace, name) => this.#mark(objectKey({ metadata: { namespace, name } }))),
      endpoints.onChange((namespace, name) => this.#mark(objectKey({ metadata: { namespace, name } }))),
    ];
    for (const mode of ["Operator", "External"])
      for (const obj of agents.byIndex(BY_SCALING_MODE, mode)) agentChanged(obj);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const swarm of this.#swarms.values()) clearTimeout(swarm.timer);
    this.#swarms.clear();
    this.#deps.metrics?.clear();
    await Promise.allSettled([...this.#pending]);
  }

  /** Resolves once every change seen so far has been acted on (for tests). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0 || this.#dirty.size > 0 || this.#flushScheduled) {
      await Promise.allSettled([...this.#pending]);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Many events in one tick (a burst of Delegations) are one evaluation per Agent. */
  #mark(key: string): void {
    if (this.#stopped) return;
    this.#dirty.add(key);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      for (const k of [...this.#dirty]) {
        if (this.#busy.has(k)) continue; // evaluated again when the running one ends
        this.#dirty.delete(k);
        this.#busy.add(k);
        const run = this.#evaluate(k)
          .catch((error: unknown) => {
            this.#deps.logger.warn({ agent: k, ...errorFields(error) }, "autoscaling failed; retrying");
            this.#recheck(k, this.#now() + RETRY_MS);
          })
          .finally(() => {
            this.#busy.delete(k);
            this.#pending.delete(run);
            if (this.#dirty.has(k)) this.#mark(k);
          });
        this.#pending.add(run);
      }
    });
  }

  async #evaluate(key: string): Promise<void> {
    const obj = this.#deps.agents.get(key);
    const agent = obj ? AGENT_KIND.parseCached(obj) : undefined;
    const { namespace, name } = parseKey(key) as { namespace: string; name: string };
    const scaling = agent?.spec.scaling;
    if (!agent || !scaling || agent.metadata.deletionTimestamp || this.#deps.isLead(namespace, name)) {
      this.#forget(key);
      return;
    }
    const now = this.#now();
    let swarm = this.#swarms.get(key);
    const observed = agent.spec.replicas;
    // Our own write the cache has not delivered yet counts as the current size.
    const current =
      swarm?.written && agent.metadata.resourceVersion === swarm.written.before ? swarm.written.replicas : observed;
    if (!swarm) {
      // A new leader has no history: it keeps the current size for a full window.
      swarm = { window: new SlidingWindowMax(), timer: undefined, timerAt: 0, written: undefined, status: undefined };
      swarm.window.push(current, now);
      this.#swarms.set(key, swarm);
    }
    const { queued, inFlight } = this.#deps.dispatcher.load(namespace, name);
    const load: Demand = { queued, inFlight };
    const podLoads = [...this.#deps.dispatcher.podLoads(namespace, name)];
    const busyPods = podLoads.filter(([, n]) => n > 0).length;
    const slots = agent.spec.maxConcurrentTasks;
    let desired = desiredReplicas(scaling, slots, load);
    let target = current;
    if (scaling.mode === "Operator") {
      const decision = decide(swarm.window, { scaling, maxConcurrentTasks: slots, load, current, busyPods }, now);
      desired = decision.wanted;
      target = decision.target;
      if (decision.recheckAt !== undefined) this.#recheck(key, decision.recheckAt);
    }
    this.#deps.metrics?.record(key, { namespace, agent: name, queued, inFlight, desired, current: target });
    let scaledAt: string | undefined;
    if (target !== current) {
      await this.#scale(agent, current, target, podLoads, { desired, load });
      swarm.written = { replicas: target, before: agent.metadata.resourceVersion };
      scaledAt = metaTime(new Date(now));
    } else if (target >= observed && this.#live(namespace, name) <= target) {
      // The scale-down is done (the pods that go are terminating): route to every pod left.
      this.#deps.endpoints.undrain(namespace, name);
    }
    await this.#writeStatus(key, swarm, agent, { desiredReplicas: desired, queued, inFlight }, scaledAt, now);
  }

  async #scale(
    agent: Agent,
    current: number,
    target: number,
    podLoads: [string, number][],
    why: { desired: number; load: Demand },
  ): Promise<void> {
    const { namespace, name } = agent.metadata as { namespace: string; name: string };
    const { client, endpoints } = this.#deps;
    if (target < current) {
      // Idle pods go first; they take no new work from now on, before anything is written.
      const uids = new Map(endpoints.endpoints(namespace, name).map((e) => [e.pod, e.uid]));
      const pods = podLoads.map(([pod, inFlight]) => ({ pod, uid: uids.get(pod), inFlight }));
      const plan = planRemoval(pods, current - target);
      endpoints.drain(namespace, name, plan.victims);
      try {
        await writeDeletionCosts(client, namespace, pods, plan.costs);
      } catch (error) {
        endpoints.undrain(namespace, name);
        throw error;
      }
    } else {
      endpoints.undrain(namespace, name);
    }
    try {
      await client.request("PATCH", resourcePath(AGENT_KIND.gvr, { namespace, name, subresource: "scale" }), {
        body: { spec: { replicas: target } },
        contentType: "application/merge-patch+json",
        query: { fieldManager: SCALING_FIELD_MANAGER },
      });
    } catch (error) {
      endpoints.undrain(namespace, name);
      throw error;
    }
    const s = agent.spec.scaling!;
    const held =
      target > why.desired
        ? `; held at ${target} by the ${s.scaleDownDelaySeconds} s scale-down window or busy pods`
        : "";
    this.#deps.events.event(
      agent,
      "Normal",
      "Scaled",
      `Scaled from ${current} to ${target} replicas: queued ${why.load.queued}, in flight ${why.load.inFlight}, ` +
        `maxConcurrentTasks ${agent.spec.maxConcurrentTasks}, targetPendingPerReplica ${s.targetPendingPerReplica} ` +
        `give desired ${why.desired} (min ${s.minReplicas}, max ${s.maxReplicas})${held}`,
    );
    this.#deps.logger.info(
      { agent: `${namespace}/${name}`, from: current, to: target, desired: why.desired, ...why.load },
      "scaled swarm",
    );
  }

  /** status.scaling, when its numbers changed, at most once per STATUS_INTERVAL_MS (then later, once). */
  async #writeStatus(
    key: string,
    swarm: Swarm,
    agent: Agent,
    numbers: { desiredReplicas: number; queued: number; inFlight: number },
    scaledAt: string | undefined,
    now: number,
  ): Promise<void> {
    const previous = agent.status?.scaling;
    const text = JSON.stringify(numbers);
    const known =
      swarm.status?.text ??
      (previous &&
        JSON.stringify({
          desiredReplicas: previous.desiredReplicas,
          queued: previous.queued,
          inFlight: previous.inFlight,
        }));
    if (!scaledAt && text === known) return;
    if (!scaledAt && swarm.status && now - swarm.status.at < STATUS_INTERVAL_MS) {
      this.#recheck(key, swarm.status.at + STATUS_INTERVAL_MS);
      return;
    }
    const { namespace, name } = agent.metadata as { namespace: string; name: string };
    const lastScaleTime = scaledAt ?? previous?.lastScaleTime;
    await this.#deps.client.request("PATCH", resourcePath(AGENT_KIND.gvr, { namespace, name, subresource: "status" }), {
      body: { status: { scaling: { ...numbers, ...(lastScaleTime && { lastScaleTime }) } } },
      contentType: "application/merge-patch+json",
      query: { fieldManager: SCALING_FIELD_MANAGER },
    });
    swarm.status = { text, at: now };
  }

  /** One timer per swarm, for the earliest time it must be looked at again. */
  #recheck(key: string, at: number): void {
    const swarm = this.#swarms.get(key);
    if (!swarm || this.#stopped) return;
    if (swarm.timer && swarm.timerAt <= at) return;
    clearTimeout(swarm.timer);
    swarm.timerAt = at;
    swarm.timer = setTimeout(
      () => {
        swarm.timer = undefined;
        this.#mark(key);
      },
      Math.max(0, at - this.#now()),
    );
  }

  /** The agent's pods that are not terminating. */
  #live(namespace: string, name: string): number {
    return this.#deps.endpoints.endpoints(namespace, name).filter((e) => !e.terminating).length;
  }

  #forget(key: string): void {
    const swarm = this.#swarms.get(key);
    if (swarm) clearTimeout(swarm.timer);
    this.#swarms.delete(key);
    this.#deps.metrics?.forget(key);
  }
}
