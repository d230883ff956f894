/**
 * Per-agent gauges of the swarm autoscaler: queued and in-flight delegations, desired and current
 * replicas, for every Agent with spec.scaling while this process leads. KEDA or an HPA (mode
 * External) scale on clawcrew_agent_delegations_queued; the rest are for dashboards.
 */
import { Gauge, type Registry } from "prom-client";

export interface AgentScalingSample {
  namespace: string;
  agent: string;
  queued: number;
  inFlight: number;
  desired: number;
  current: number;
}

export class ScalingMetrics {
  /** ns/agent → latest numbers; copied into the gauges at scrape time. */
  readonly #latest = new Map<string, AgentScalingSample>();

  constructor(registry: Registry) {
    const gauge = (name: string, help: string, pick: (s: AgentScalingSample) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["namespace", "agent"],
        registers: [registry],
        collect: (() => {
          const latest = this.#latest;
          return function collect(this: Gauge<"namespace" | "agent">) {
            this.reset();
            for (const s of latest.values()) this.set({ namespace: s.namespace, agent: s.agent }, pick(s));
          };
        })(),
      });
    gauge(
      "clawcrew_agent_delegations_queued",
      "Delegations to a scaled agent waiting for a free slot.",
      (s) => s.queued,
    );
    gauge("clawcrew_agent_delegations_in_flight", "Delegations a scaled agent is working on.", (s) => s.inFlight);
    gauge("clawcrew_agent_replicas_desired", "Replicas the scaling formula asks for now.", (s) => s.desired);
    gauge("clawcrew_agent_replicas_current", "The scaled agent's spec.replicas.", (s) => s.current);
  }

  record(key: string, sample: AgentScalingSample): void {
    this.#latest.set(key, sample);
  }

  forget(key: string): void {
    this.#latest.delete(key);
  }

  /** Leadership lost: another process reports now. */
  clear(): void {
    this.#latest.clear();
  }
}
