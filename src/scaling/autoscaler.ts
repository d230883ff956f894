/**
 * Scales swarms (Agents with spec.scaling.mode Operator) on their pending delegations, through
 * the scale subresource, while this process leads. With mode External it never writes.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { addAgentIndexes, BY_SCALING_MODE } from "../api/indexes.ts";
import { AGENT_KIND } from "../api/registry.ts";
import type { Dispatcher } from "../delegation/dispatcher.ts";
import type { KubeClient } from "../runtime/client.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { errorFields, type Logger } from "../runtime/log.ts";
import { resourcePath } from "../runtime/resource.ts";
import { type IndexedCache, objectKey } from "../runtime/store.ts";
import { desiredReplicas, ScaleDownWindow } from "./desired.ts";

export interface AutoscalerDeps {
  client: KubeClient;
  agents: IndexedCache<KubernetesObject>;
  dispatcher: Pick<Dispatcher, "load">;
  events: EventRecorder;
  logger: Logger;
  /** How often every swarm is looked at. Default 1 s. */
  intervalMs?: number;
  now?: () => number;
}

export class Autoscaler {
  readonly #deps: AutoscalerDeps;
  readonly #window = new ScaleDownWindow();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(deps: AutoscalerDeps) {
    this.#deps = deps;
    addAgentIndexes(deps.agents);
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.tick());
    }, this.#deps.intervalMs ?? 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** Looks at every swarm once and writes the replica counts that changed. */
  async tick(): Promise<void> {
    const now = (this.#deps.now ?? Date.now)();
    const seen = new Set<string>();
    for (const obj of this.#deps.agents.byIndex(BY_SCALING_MODE, "Operator")) {
      const agent = AGENT_KIND.parseCached(obj);
      const scaling = agent?.spec.scaling;
      if (!agent || scaling?.mode !== "Operator" || agent.metadata.deletionTimestamp) continue;
      const key = objectKey(obj);
      seen.add(key);
      const ns = agent.metadata.namespace!;
      const name = agent.metadata.name!;
      const wanted = desiredReplicas(scaling, agent.spec.maxConcurrentTasks, this.#deps.dispatcher.load(ns, name));
      const current = agent.spec.replicas;
      const target = this.#window.target(key, current, wanted, now, scaling.scaleDownDelaySeconds * 1000);
      if (target === current) continue;
      try {
        const path = resourcePath(AGENT_KIND.gvr, { namespace: ns, name, subresource: "scale" });
        await this.#deps.client.request("PATCH", path, {
          body: { spec: { replicas: target } },
          contentType: "application/merge-patch+json",
        });
        this.#deps.events.event(
          obj,
          "Normal",
          "Scaled",
          `Scaled from ${current} to ${target} replicas for pending delegations`,
        );
        this.#deps.logger.info({ namespace: ns, name, from: current, to: target }, "scaled swarm");
      } catch (error) {
        this.#deps.logger.warn({ namespace: ns, name, ...errorFields(error) }, "scaling failed; retrying next tick");
      }
    }
    this.#window.retainOnly(seen);
  }
}
