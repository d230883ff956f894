/**
 * Records events.k8s.io/v1 Events about objects, like client-go's events recorder:
 *
 * - a repeat of the same (object, type, reason, note, action) within the aggregation window bumps
 *   the existing Event's `series` (count, lastObservedTime) instead of creating another Event;
 * - recording never throws and never blocks the caller: failures are logged;
 * - writes for one aggregation key are sequential, so counts are not lost to races.
 */
import { hostname } from "node:os";
import type { KubeClient } from "./client.ts";
import { isNotFound } from "./errors.ts";
import { defaultLogger, errorFields, type Logger } from "./log.ts";
import { resourcePath } from "./resource.ts";
import { type NamedObject, objectFields } from "./store.ts";
import { microTime } from "./time.ts";

export const REPORTING_CONTROLLER = "clawcrew.io/operator";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  client: KubeClient;
  /** Default "clawcrew.io/operator". */
  reportingController?: string;
  /** Default $POD_NAME, else the host name (a pod's host name is its name). */
  reportingInstance?: string;
  /** Repeats within this time update one Event. Default 30 min (Events live 1 h by default). */
  aggregationWindowMs?: number;
  /** Aggregation entries kept (oldest dropped first). Default 4096. */
  maxCachedEvents?: number;
  logger?: Logger;
}

export interface EventOptions {
  /** What the controller did or failed to do, e.g. "Reconcile". Default: the reason. */
  action?: string;
  /** A secondary object the event is about. */
  related?: NamedObject;
}

interface Series {
  namespace: string;
  name: string;
  count: number;
  lastObservedAt: number;
}

const EVENTS_GVR = { group: "events.k8s.io", version: "v1", plural: "events" };
const CAMEL_CASE = /^[A-Z][A-Za-z0-9]*$/;
const MAX_NOTE_BYTES = 1024;

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #controller: string;
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #maxCached: number;
  readonly #series = new Map<string, Series>();
  /** The last write of each aggregation key, to chain the next one after it. */
  readonly #tails = new Map<string, Promise<void>>();
  #sequence = 0;

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#controller = options.reportingController ?? REPORTING_CONTROLLER;
    this.#instance = (options.reportingInstance ?? process.env.POD_NAME ?? hostname()).slice(0, 128);
    this.#windowMs = options.aggregationWindowMs ?? 30 * 60_000;
    this.#maxCached = options.maxCachedEvents ?? 4096;
    this.#log = (options.logger ?? defaultLogger).child({ component: "events" });
  }

  /** Records an event about `regarding`. Reason is CamelCase, e.g. "ReconcileFailed". Never throws. */
  event(regarding: NamedObject, type: EventType, reason: string, note: string, options: EventOptions = {}): void {
    try {
      const fields = objectFields(regarding);
      if (!regarding.metadata?.name || !regarding.kind) {
        this.#log.warn({ ...fields, reason }, "not recording an event about an object without kind or name");
        return;
      }
      if (!CAMEL_CASE.test(reason)) this.#log.warn({ ...fields, reason }, "event reason should be CamelCase");
      const action = options.action ?? reason;
      const key = JSON.stringify([
        regarding.apiVersion,
        regarding.kind,
        regarding.metadata.namespace,
        regarding.metadata.name,
        regarding.metadata.uid,
        type,
        reason,
        action,
        note,
        options.related?.metadata?.uid,
      ]);
      const previous = this.#tails.get(key) ?? Promise.resolve();
      const write = previous
        .then(() => this.#write(key, regarding, type, reason, note, action, options.related))
        .catch((error: unknown) => {
          this.#log.warn({ ...errorFields(error), ...fields, reason, type }, "recording an event failed");
        })
        .finally(() => {
          if (this.#tails.get(key) === write) this.#tails.delete(key);
        });
      this.#tails.set(key, write);
    } catch (error) {
      this.#log.warn({ ...errorFields(error), reason }, "recording an event failed");
    }
  }

  /** Resolves once every event recorded so far has been written (or failed). */
  async flush(): Promise<void> {
    while (this.#tails.size) await Promise.all(this.#tails.values());
  }

  async #write(
    key: string,
    regarding: NamedObject,
    type: EventType,
    reason: string,
    note: string,
    action: string,
    related: NamedObject | undefined,
  ): Promise<void> {
    const now = Date.now();
    const series = this.#series.get(key);
    if (series && now - series.lastObservedAt < this.#windowMs) {
      const count = series.count + 1;
      const path = resourcePath(EVENTS_GVR, { namespace: series.namespace, name: series.name });
      try {
        await this.#client.request("PATCH", path, {
          body: { series: { count, lastObservedTime: microTime(new Date(now)) } },
          contentType: "application/merge-patch+json",
        });
        series.count = count;
        series.lastObservedAt = now;
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // The Event expired or was deleted: start a new one.
      }
    }
    const created = await this.#create(regarding, type, reason, note, action, related, now);
    this.#series.delete(key);
    this.#series.set(key, { ...created, count: 1, lastObservedAt: now });
    if (this.#series.size > this.#maxCached) {
      const oldest = this.#series.keys().next().value;
      if (oldest !== undefined) this.#series.delete(oldest);
    }
  }

  async #create(
    regarding: NamedObject,
    type: EventType,
    reason: string,
    note: string,
    action: string,
    related: NamedObject | undefined,
    now: number,
  ): Promise<{ namespace: string; name: string }> {
    const meta = regarding.metadata ?? {};
    const namespace = meta.namespace || "default";
    // Like client-go: <object name>.<timestamp in hex>, unique per recorder.
    const suffix = (BigInt(now) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000)).toString(16);
    const name = `${(meta.name ?? "").slice(0, 253 - suffix.length - 1)}.${suffix}`;
    const event = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name, namespace },
      eventTime: microTime(new Date(now)),
      reportingController: this.#controller,
      reportingInstance: this.#instance,
      action: action.slice(0, 128),
      reason: reason.slice(0, 128),
      type,
      note: truncateBytes(note, MAX_NOTE_BYTES),
      regarding: reference(regarding),
      ...(related && { related: reference(related) }),
    };
    await this.#client.request("POST", resourcePath(EVENTS_GVR, { namespace }), { body: event });
    return { namespace, name };
  }
}

function reference(obj: NamedObject) {
  const meta = obj.metadata ?? {};
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
  };
}

function truncateBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes);
  while (Buffer.byteLength(text.slice(0, end)) > maxBytes - 3) end--;
  return `${text.slice(0, end)}...`;
}
