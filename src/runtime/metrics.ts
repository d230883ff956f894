/**
 * What a controller reports for metrics. The runtime defines the hooks; the metrics registry
 * (prom-client) implements them elsewhere, e.g. as controller-runtime's
 * controller_runtime_reconcile_total{controller,result}, ..._reconcile_errors_total,
 * ..._reconcile_time_seconds, workqueue_depth{name}, workqueue_retries_total{name}.
 */

export interface ControllerLabels {
  /** The controller's name, e.g. "agent". */
  controller: string;
  /** The primary kind it reconciles, e.g. "Agent". */
  kind: string;
}

/** success: done; requeue_after: done and scheduled again; error: threw and retried with backoff. */
export type ReconcileOutcome = "success" | "requeue_after" | "error";

export interface ControllerMetrics {
  reconcileCompleted(labels: ControllerLabels, outcome: ReconcileOutcome, durationSeconds: number): void;
  queueDepth(labels: ControllerLabels, depth: number): void;
  queueRetried(labels: ControllerLabels): void;
  /** Time a request waited in the queue. */
  queueLatency(labels: ControllerLabels, seconds: number): void;
  activeWorkers(labels: ControllerLabels, count: number): void;
}

export const noopControllerMetrics: ControllerMetrics = {
  reconcileCompleted() {},
  queueDepth() {},
  queueRetried() {},
  queueLatency() {},
  activeWorkers() {},
};
