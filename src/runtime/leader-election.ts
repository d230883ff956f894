/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package:
 *
 * - candidates try to acquire every retryPeriod (with jitter): create the Lease if missing, take it
 *   over only when it expired (no change observed for leaseDurationSeconds, measured on the local
 *   clock from when the change was seen, so clock skew does not matter) or was released;
 * - the leader renews every retryPeriod; if it has not renewed for renewDeadline it stops leading,
 *   which happens before any candidate can see the lease expire (renewDeadline < leaseDuration);
 * - every write carries the resourceVersion read, so two candidates cannot both win;
 * - stop() ends leadership gracefully: onStoppedLeading runs, then the lease is released (empty
 *   holder, 1 s duration) so a standby takes over at once.
 *
 * One run() is one term: after leadership is lost, run() resolves; exiting the process (so that it
 * restarts as a fresh candidate) is the usual reaction, as with controller-runtime.
 */
import type { V1Lease, V1LeaseSpec } from "@kubernetes/client-node";
import { sleep } from "./backoff.ts";
import type { KubeClient } from "./client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "./errors.ts";
import { defaultLogger, errorFields, type Logger } from "./log.ts";
import { resourcePath } from "./resource.ts";
import { microTime } from "./time.ts";

export interface LeaderElectionOptions {
  client: KubeClient;
  /** Namespace and name of the Lease. */
  namespace: string;
  name: string;
  /** Unique per process, e.g. the pod name. */
  identity: string;
  /** How long a lease is valid without renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** The leader gives up when it has not renewed for this long. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between attempts. Default 2 s. */
  retryPeriodMs?: number;
  /** Called once leadership is acquired; `signal` aborts when it is lost or stopped. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called when leadership ends (lost, or stop()); awaited before the lease is released. */
  onStoppedLeading: () => void | Promise<void>;
  /** Called when the observed holder changes (including to this identity). */
  onNewLeader?: (identity: string) => void;
  /** Release the lease on stop(). Default true. */
  releaseOnStop?: boolean;
  logger?: Logger;
}

/** Durations that cannot work: leaseDuration > renewDeadline > retryPeriod * 1.2 is required. */
export class LeaderElectionConfigError extends Error {
  override readonly name = "LeaderElectionConfigError";
}

const JITTER = 1.2;
const LEASE_GVR = { group: "coordination.k8s.io", version: "v1", plural: "leases" };

type Attempt = "acquired" | "held-by-other" | "failed";

export class LeaderElector {
  readonly identity: string;
  readonly #options: LeaderElectionOptions;
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #path: string;
  #observed: V1LeaseSpec | undefined;
  /** performance.now() when #observed last changed. */
  #observedAt = 0;
  #lastRenewAt = 0;
  #leading = false;
  #abort: AbortController | undefined;
  #running: Promise<void> | undefined;
  #releasing = false;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.#client = options.client;
    this.identity = options.identity;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!options.identity) throw new LeaderElectionConfigError("identity must not be empty");
    if (this.#leaseDurationMs <= this.#renewDeadlineMs) {
      throw new LeaderElectionConfigError("leaseDuration must be greater than renewDeadline");
    }
    if (this.#renewDeadlineMs <= JITTER * this.#retryPeriodMs) {
      throw new LeaderElectionConfigError(`renewDeadline must be greater than retryPeriod * ${JITTER}`);
    }
    this.#path = resourcePath(LEASE_GVR, { namespace: options.namespace, name: options.name });
    this.#log = (options.logger ?? defaultLogger).child({
      component: "leader-election",
      namespace: options.namespace,
      name: options.name,
      identity: options.identity,
    });
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last observed on the Lease ("" when released, undefined before the first read). */
  leader(): string | undefined {
    return this.#observed?.holderIdentity;
  }

  /** Campaigns, leads until leadership is lost or stop() is called, then resolves. */
  run(): Promise<void> {
    if (this.#running) return this.#running;
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = this.#run(abort.signal).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Ends run(): stops leading (releasing the lease unless releaseOnStop is false) or campaigning. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#running;
  }

  async #run(signal: AbortSignal): Promise<void> {
    if (!(await this.#acquire(signal))) return;
    const term = new AbortController();
    this.#leading = true;
    this.#log.info("started leading");
    Promise.resolve()
      .then(() => this.#options.onStartedLeading(term.signal))
      .catch((error: unknown) => this.#log.error({ err: error }, "onStartedLeading failed"));

    const why = await this.#renew(signal).catch((error: unknown) => {
      this.#log.error({ err: error }, "renew loop failed");
      return "renew-failed" as const;
    });
    this.#leading = false;
    term.abort();
    this.#log[why === "stopped" ? "info" : "error"]({ why }, "stopped leading");
    try {
      await this.#options.onStoppedLeading();
    } catch (error) {
      this.#log.error({ err: error }, "onStoppedLeading failed");
    }
    if (why === "stopped" && (this.#options.releaseOnStop ?? true) && !this.#releasing) await this.#release();
  }

  /** Tries every retryPeriod (jittered) until acquired (true) or stopped (false). */
  async #acquire(signal: AbortSignal): Promise<boolean> {
    this.#log.info("campaigning for leadership");
    while (!signal.aborted) {
      const attempt = await this.#tryAcquireOrRenew(
        AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(this.#renewDeadlineMs))]),
      );
      if (attempt === "acquired") return true;
      await sleep(this.#retryPeriodMs * (1 + Math.random() * (JITTER - 1)), signal);
    }
    return false;
  }

  /** Renews every retryPeriod; returns why leadership ended. */
  async #renew(signal: AbortSignal): Promise<"stopped" | "renew-deadline-exceeded" | "lease-taken"> {
    while (!signal.aborted) {
      await sleep(this.#retryPeriodMs, signal);
      for (;;) {
        if (signal.aborted) return "stopped";
        const remaining = this.#lastRenewAt + this.#renewDeadlineMs - performance.now();
        if (remaining <= 0) return "renew-deadline-exceeded";
        const attempt = await this.#tryAcquireOrRenew(
          AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(remaining))]),
        );
        if (attempt === "acquired") break;
        if (attempt === "held-by-other") return "lease-taken";
        await sleep(Math.min(this.#retryPeriodMs, Math.max(0, remaining)), signal);
      }
    }
    return "stopped";
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const now = performance.now();
    const nowTime = microTime(new Date());
    let lease: V1Lease;
    try {
      lease = await this.#client.get<V1Lease>(this.#path, { signal });
    } catch (error) {
      if (!isNotFound(error)) return this.#failed("reading the lease failed", error);
      return this.#create(nowTime, now, signal);
    }

    const spec = lease.spec ?? {};
    this.#observe(spec, now);
    const holder = spec.holderIdentity ?? "";
    const validUntil = this.#observedAt + (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder && holder !== this.identity && validUntil > now) return "held-by-other";

    const renewing = holder === this.identity;
    const next: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationSeconds(),
        acquireTime: renewing && spec.acquireTime ? spec.acquireTime : (nowTime as unknown as Date),
        renewTime: nowTime as unknown as Date,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1),
      },
    };
    try {
      // metadata.resourceVersion from the read makes this a compare-and-swap.
      const updated = await this.#client.request<V1Lease>("PUT", this.#path, { body: next, signal });
      return this.#won(updated, now);
    } catch (error) {
      if (isConflict(error)) {
        this.#log.debug("lease changed while updating it");
        return "failed";
      }
      return this.#failed(renewing ? "renewing the lease failed" : "taking over the lease failed", error);
    }
  }

  async #create(nowTime: string, now: number, signal: AbortSignal): Promise<Attempt> {
    const lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.#options.name, namespace: this.#options.namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationSeconds(),
        acquireTime: nowTime,
        renewTime: nowTime,
        leaseTransitions: 0,
      },
    };
    const collection = resourcePath(LEASE_GVR, { namespace: this.#options.namespace });
    try {
      const created = await this.#client.request<V1Lease>("POST", collection, { body: lease, signal });
      return this.#won(created, now);
    } catch (error) {
      if (isAlreadyExists(error)) return "failed"; // another candidate created it first
      return this.#failed("creating the lease failed", error);
    }
  }

  #won(lease: V1Lease, now: number): Attempt {
    this.#observe(lease.spec ?? {}, now);
    this.#lastRenewAt = now;
    return "acquired";
  }

  #failed(message: string, error: unknown): Attempt {
    this.#log.warn(errorFields(error), message);
    return "failed";
  }

  #observe(spec: V1LeaseSpec, now: number): void {
    const previous = this.#observed;
    const changed =
      !previous ||
      previous.holderIdentity !== spec.holderIdentity ||
      String(previous.renewTime) !== String(spec.renewTime) ||
      previous.leaseDurationSeconds !== spec.leaseDurationSeconds;
    if (!changed) return;
    this.#observed = spec;
    this.#observedAt = now;
    if (previous?.holderIdentity !== spec.holderIdentity && spec.holderIdentity) {
      this.#log.info({ leader: spec.holderIdentity }, "new leader observed");
      try {
        this.#options.onNewLeader?.(spec.holderIdentity);
      } catch (error) {
        this.#log.error({ err: error }, "onNewLeader failed");
      }
    }
  }

  #leaseDurationSeconds(): number {
    return Math.max(1, Math.ceil(this.#leaseDurationMs / 1000));
  }

  /**
   * Ends the current term (as stop() does) and gives the lease up if this identity holds it: empty
   * holder and a 1 s duration, so a standby acquires it on its next attempt. Resolves true when
   * the lease was released.
   */
  async release(): Promise<boolean> {
    this.#releasing = true;
    try {
      await this.stop();
    } finally {
      this.#releasing = false;
    }
    return this.#release();
  }

  async #release(): Promise<boolean> {
    const signal = AbortSignal.timeout(Math.ceil(this.#renewDeadlineMs));
    try {
      const lease = await this.#client.get<V1Lease>(this.#path, { signal });
      if (lease.spec?.holderIdentity !== this.identity) return false;
      const nowTime = microTime(new Date()) as unknown as Date;
      await this.#client.request("PUT", this.#path, {
        body: {
          ...lease,
          spec: {
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: nowTime,
            renewTime: nowTime,
            leaseTransitions: lease.spec?.leaseTransitions ?? 0,
          },
        },
        signal,
      });
      this.#leading = false;
      this.#log.info("released the lease");
      return true;
    } catch (error) {
      this.#log.warn(errorFields(error), "releasing the lease failed");
      return false;
    }
  }
}
