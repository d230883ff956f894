/**
 * clawcrew's own metrics: finished Delegations, their duration and queue wait, attempts, retries
 * and failovers, delegation edges between agents, tokens, and per-agent utilisation.
 *
 * Label cardinality is bounded by the objects that exist: namespace, team and agent are object
 * names; outcome and reason are closed sets (reasons outside them read Other, never free text);
 * model is the Agent's spec.model.primary. When an Agent or AgentTeam is deleted, every series
 * naming it is removed (forget*), so names that come and go do not pile up.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Delegation } from "../api/delegation.ts";
import { type DelegationMetrics, finishedDelegation } from "../delegation/finished-metrics.ts";

/** Per agent, read at each scrape while this process leads. */
export interface AgentCapacitySample {
  namespace: string;
  agent: string;
  inFlight: number;
  readyReplicas: number;
  /** Ready replicas × maxConcurrentTasks. */
  slots: number;
}

export interface DelegationMetricsRegistry extends DelegationMetrics {
  /** Removes every series that names the Agent (as agent, from or to). */
  forgetAgent(namespace: string, agent: string): void;
  forgetTeam(namespace: string, team: string): void;
  /** Where the per-agent gauges and the model label come from (the Operator's caches). */
  observeAgents(source: AgentSource): void;
}

export interface AgentSource {
  /** Every Agent, while this process leads; nothing on a standby. */
  capacity(): AgentCapacitySample[];
  /** The Agent's spec.model.primary; "" when unknown. */
  modelOf(namespace: string, agent: string): string;
}

/** Seconds: agent tasks run from about a second to an hour. */
const DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const WAIT_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

type Labels = Record<string, string>;
type Metric = Counter<string> | Histogram<string>;

/** Label sets in use, by the Agent or team they name, so deleting the object deletes its series. */
class SeriesIndex {
  readonly #byOwner = new Map<string, Map<Metric, Map<string, Labels>>>();

  note(owners: string[], metric: Metric, labels: Labels): void {
    const id = JSON.stringify(labels);
    for (const owner of owners) {
      const metrics = this.#byOwner.get(owner) ?? new Map<Metric, Map<string, Labels>>();
      this.#byOwner.set(owner, metrics);
      const sets = metrics.get(metric) ?? new Map<string, Labels>();
      metrics.set(metric, sets);
      if (!sets.has(id)) sets.set(id, labels);
    }
  }

  forget(owner: string): void {
    const metrics = this.#byOwner.get(owner);
    if (!metrics) return;
    this.#byOwner.delete(owner);
    for (const [metric, sets] of metrics) for (const labels of sets.values()) metric.remove(labels);
  }
}

const agentOwner = (ns: string, agent: string) => `agent/${ns}/${agent}`;
const teamOwner = (ns: string, team: string) => `team/${ns}/${team}`;

export function createDelegationMetrics(registry: Registry): DelegationMetricsRegistry {
  const registers = [registry];
  const finished = new Counter({
    name: "clawcrew_delegations_finished_total",
    help: "Delegations finished, by outcome (Succeeded, Failed) and reason class; counted once, by the process whose write finished it.",
    labelNames: ["namespace", "team", "agent", "outcome", "reason"],
    registers,
  });
  const duration = new Histogram({
    name: "clawcrew_delegation_duration_seconds",
    help: "Creation to completion of finished Delegations.",
    labelNames: ["namespace", "team", "agent", "outcome"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const queueWait = new Histogram({
    name: "clawcrew_delegation_queue_wait_seconds",
    help: "Creation to the first attempt's start of finished Delegations.",
    labelNames: ["namespace", "team", "agent"],
    buckets: WAIT_BUCKETS,
    registers,
  });
  const attempts = new Counter({
    name: "clawcrew_delegation_attempts_total",
    help: "Ended attempts of finished Delegations, by outcome and reason class.",
    labelNames: ["namespace", "team", "agent", "outcome", "reason"],
    registers,
  });
  const retries = new Counter({
    name: "clawcrew_delegation_retries_total",
    help: "Attempts after a failed one on the same pod, by the reason the one before ended.",
    labelNames: ["namespace", "team", "agent", "reason"],
    registers,
  });
  const failovers = new Counter({
    name: "clawcrew_delegation_failovers_total",
    help: "Attempts after a failed one that moved the work to another pod, or followed one its operator left (Interrupted), by the reason the one before ended.",
    labelNames: ["namespace", "team", "agent", "reason"],
    registers,
  });
  const edges = new Counter({
    name: "clawcrew_delegation_edges_total",
    help: "Finished Delegations from one Agent to another, by outcome.",
    labelNames: ["namespace", "from", "to", "outcome"],
    registers,
  });
  const edgeDuration = new Histogram({
    name: "clawcrew_delegation_edge_duration_seconds",
    help: "Creation to completion of Delegations from one Agent to another.",
    labelNames: ["namespace", "from", "to"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: "clawcrew_tokens_total",
    help: "Tokens the agents' models used for finished Delegations, by type (prompt, completion); Delegations whose usage is unknown add nothing.",
    labelNames: ["namespace", "agent", "model", "type"],
    registers,
  });
  const unknownUsage = new Counter({
    name: "clawcrew_delegations_usage_unknown_total",
    help: "Succeeded Delegations whose gateway did not report the tokens used.",
    labelNames: ["namespace", "agent"],
    registers,
  });

  let agents: AgentSource = { capacity: () => [], modelOf: () => "" };
  const capacityGauge = (name: string, help: string, pick: (s: AgentCapacitySample) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["namespace", "agent"],
      registers,
      collect() {
        // Rebuilt from the caches at each scrape: a deleted Agent's series is gone at the next one.
        this.reset();
        for (const s of agents.capacity()) this.set({ namespace: s.namespace, agent: s.agent }, pick(s));
      },
    });
  capacityGauge(
    "clawcrew_agent_utilization_ratio",
    "In-flight delegations over the slots of the agent's ready replicas (0 without ready replicas).",
    (s) => (s.slots > 0 ? s.inFlight / s.slots : 0),
  );
  capacityGauge(
    "clawcrew_agent_ready_replicas",
    "Gateway pods of the agent that take delegations.",
    (s) => s.readyReplicas,
  );
  capacityGauge("clawcrew_agent_slots", "Ready replicas × maxConcurrentTasks of the agent.", (s) => s.slots);

  const index = new SeriesIndex();
  const count = (owners: string[], metric: Counter<string>, labels: Labels, by = 1) => {
    metric.inc(labels, by);
    index.note(owners, metric, labels);
  };
  const observe = (owners: string[], metric: Histogram<string>, labels: Labels, value: number) => {
    metric.observe(labels, value);
    index.note(owners, metric, labels);
  };

  return {
    finished(d: Delegation) {
      const f = finishedDelegation(d);
      if (!f) return;
      const { namespace, team, agent } = f;
      const owners = [agentOwner(namespace, agent), ...(team ? [teamOwner(namespace, team)] : [])];
      const base = { namespace, team, agent };
      count(owners, finished, { ...base, outcome: f.outcome, reason: f.reason });
      if (f.durationSeconds !== undefined)
        observe(owners, duration, { ...base, outcome: f.outcome }, f.durationSeconds);
      if (f.queueWaitSeconds !== undefined) observe(owners, queueWait, base, f.queueWaitSeconds);
      for (const a of f.attempts) count(owners, attempts, { ...base, outcome: a.outcome, reason: a.reason });
      for (const reason of f.retries) count(owners, retries, { ...base, reason });
      for (const reason of f.failovers) count(owners, failovers, { ...base, reason });
      if (f.from && agent) {
        const ends = [agentOwner(namespace, f.from), agentOwner(namespace, agent)];
        count(ends, edges, { namespace, from: f.from, to: agent, outcome: f.outcome });
        if (f.durationSeconds !== undefined) {
          observe(ends, edgeDuration, { namespace, from: f.from, to: agent }, f.durationSeconds);
        }
      }
      if (!agent || f.outcome !== "Succeeded") return;
      const agentOnly = [agentOwner(namespace, agent)];
      if (!f.usage) return count(agentOnly, unknownUsage, { namespace, agent });
      const model = agents.modelOf(namespace, agent);
      count(agentOnly, tokens, { namespace, agent, model, type: "prompt" }, f.usage.promptTokens);
      count(agentOnly, tokens, { namespace, agent, model, type: "completion" }, f.usage.completionTokens);
    },
    forgetAgent: (namespace, agent) => index.forget(agentOwner(namespace, agent)),
    forgetTeam: (namespace, team) => index.forget(teamOwner(namespace, team)),
    observeAgents(source) {
      agents = source;
    },
  };
}
