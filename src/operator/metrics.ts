/** The operator's Prometheus metrics, named after controller-runtime's so existing dashboards apply. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ControllerLabels, ControllerMetrics } from "../runtime/metrics.ts";

export interface AgentLoadSample {
  namespace: string;
  agent: string;
  load: { queued: number; inFlight: number };
}

export interface OperatorMetrics {
  registry: Registry;
  controllers: ControllerMetrics;
  setLeader(leading: boolean): void;
  /** Reads pending delegations per agent at each scrape (for KEDA or an HPA with external metrics). */
  observeLoads(read: () => AgentLoadSample[]): void;
}

export function createMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ["controller", "kind"] as const;
  const reconciles = new Counter({
    name: "controller_runtime_reconcile_total",
    help: "Reconciles per controller and result (success, requeue_after, error).",
    labelNames: [...labelNames, "result"],
    registers: [registry],
  });
  const errors = new Counter({
    name: "controller_runtime_reconcile_errors_total",
    help: "Reconciles that failed and were retried with backoff.",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "controller_runtime_reconcile_time_seconds",
    help: "Time per reconcile.",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  // Gauges the controllers change on every request are kept here and copied in at scrape time:
  // prom-client's Gauge.set sorts the label names on each call.
  type Latest = Map<string, ControllerLabels & { value: number }>;
  const depths: Latest = new Map();
  const active: Latest = new Map();
  const current = (values: Latest) =>
    function collect(this: Gauge<"controller" | "kind">) {
      for (const { controller, kind, value } of values.values()) this.set({ controller, kind }, value);
    };
  const record = (values: Latest, labels: ControllerLabels, value: number) => {
    const key = `${labels.controller}/${labels.kind}`;
    const entry = values.get(key);
    if (entry) entry.value = value;
    else values.set(key, { controller: labels.controller, kind: labels.kind, value });
  };
  new Gauge({
    name: "workqueue_depth",
    help: "Requests waiting in the work queue.",
    labelNames,
    registers: [registry],
    collect: current(depths),
  });
  const retries = new Counter({
    name: "workqueue_retries_total",
    help: "Requests re-queued with backoff.",
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "workqueue_queue_duration_seconds",
    help: "Time a request waits in the queue before a worker takes it.",
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    registers: [registry],
  });
  new Gauge({
    name: "controller_runtime_active_workers",
    help: "Reconciles running now.",
    labelNames,
    registers: [registry],
    collect: current(active),
  });
  const leader = new Gauge({
    name: "leader_election_master_status",
    help: "1 while this process holds the leader Lease, else 0.",
    labelNames: ["name"],
    registers: [registry],
  });
  leader.set({ name: "clawcrew-operator" }, 0);
  let readLoads: () => AgentLoadSample[] = () => [];
  const loadGauge = (name: string, help: string, pick: (s: AgentLoadSample) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["namespace", "agent"],
      registers: [registry],
      collect() {
        this.reset();
        for (const sample of readLoads()) this.set({ namespace: sample.namespace, agent: sample.agent }, pick(sample));
      },
    });
  loadGauge("clawcrew_delegations_queued", "Delegations waiting for a free slot of the agent.", (s) => s.load.queued);
  loadGauge("clawcrew_delegations_in_flight", "Delegations the agent is working on.", (s) => s.load.inFlight);
  const l = (labels: ControllerLabels) => ({ controller: labels.controller, kind: labels.kind });
  return {
    registry,
    setLeader: (leading) => leader.set({ name: "clawcrew-operator" }, leading ? 1 : 0),
    observeLoads: (read) => {
      readLoads = read;
    },
    controllers: {
      reconcileCompleted(labels, outcome, seconds) {
        reconciles.inc({ ...l(labels), result: outcome });
        if (outcome === "error") errors.inc(l(labels));
        duration.observe(l(labels), seconds);
      },
      queueDepth: (labels, value) => record(depths, labels, value),
      queueRetried: (labels) => retries.inc(l(labels)),
      queueLatency: (labels, seconds) => latency.observe(l(labels), seconds),
      activeWorkers: (labels, count) => record(active, labels, count),
    },
  };
}
