/**
 * Callers waiting for Delegations to finish (the REST and MCP endpoint). Resolved by the
 * dispatcher's terminal write (fast path) or by the Delegations informer (standby path); a delete
 * resolves with a Failed/Cancelled copy of the last known object. The informer's copy of a finished
 * Delegation is a summary (cache.ts), so that path reads the whole object from the API first.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import type { Informer } from "../runtime/informer.ts";
import { keyOf, objectKey } from "../runtime/store.ts";
import { isTerminal } from "./delegation-object.ts";
import type { DelegationReader } from "./finished-summary.ts";

export interface WaiterSources {
  /** The informer's cache: a wait on an already finished Delegation resolves at once. */
  lookup?: (namespace: string, name: string) => Delegation | undefined;
  /** Reads a finished Delegation in full; without it, the cache's copy is returned as it is. */
  read?: DelegationReader;
}

interface Waiter {
  resolve: (d: Delegation) => void;
  reject: (error: unknown) => void;
}

/** How long a cache sighting waits for the dispatcher's own copy before reading (see handOver). */
export const HANDOVER_GRACE_MS = 2000;

export class WaiterRegistry {
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #sources: WaiterSources;
  /** Keys whose finished object is being read for their waiters. */
  readonly #reading = new Set<string>();
  #handsOver: ((uid: string) => boolean) | undefined;
  #unsubscribe: (() => void)[] = [];

  constructor(sources: WaiterSources = {}) {
    this.#sources = sources;
  }

  /** Feeds the registry from a Delegations informer (whose finished objects are summaries). */
  watch(informer: Informer<KubernetesObject>): void {
    const seen = (obj: KubernetesObject) => this.#sighted(obj as Delegation);
    this.#unsubscribe.push(
      informer.on("add", seen),
      informer.on("update", (_old, obj) => seen(obj)),
      informer.on("delete", (obj) => this.deleted(obj as Delegation)),
    );
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  get size(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  /** Resolves with the terminal object; rejects with the signal's reason when it aborts first. */
  wait(namespace: string, name: string, signal?: AbortSignal): Promise<Delegation> {
    const cached = this.#sources.lookup?.(namespace, name);
    if (cached && isTerminal(cached)) return this.#whole(cached, signal);
    return new Promise<Delegation>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const key = keyOf({ namespace, name });
      let set = this.#waiters.get(key);
      if (!set) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const onAbort = () => {
        this.#remove(key, waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: (d) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(d);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      set.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The whole object as the API returned it: resolves its waiters when it is terminal. */
  observe(d: Delegation): void {
    if (!isTerminal(d)) return;
    this.#settle(d);
  }

  /**
   * While `handsOver(uid)` is true (the dispatcher is finishing that Delegation and will call
   * observe() with the object its write returned), a cache sighting waits HANDOVER_GRACE_MS before
   * reading the object itself. Undefined turns this off.
   */
  handOver(handsOver: ((uid: string) => boolean) | undefined): void {
    this.#handsOver = handsOver;
  }

  /** A cache sighting: when it is terminal and someone waits, read the whole object, then settle. */
  #sighted(d: Delegation): void {
    if (!isTerminal(d)) return;
    if (d.metadata.uid && this.#handsOver?.(d.metadata.uid)) {
      setTimeout(() => this.#read(d), HANDOVER_GRACE_MS).unref();
      return;
    }
    this.#read(d);
  }

  #read(d: Delegation): void {
    const key = objectKey(d);
    if (!this.#waiters.has(key) || this.#reading.has(key)) return;
    this.#reading.add(key);
    this.#whole(d).then(
      (whole) => {
        this.#reading.delete(key);
        this.#settle(whole);
      },
      (error: unknown) => {
        this.#reading.delete(key);
        this.#fail(key, error);
      },
    );
  }

  /** The whole object behind a finished cache entry; the entry itself once the object is gone. */
  async #whole(summary: Delegation, signal?: AbortSignal): Promise<Delegation> {
    const read = this.#sources.read;
    if (!read) return summary;
    const whole = await read(summary.metadata.namespace ?? "", summary.metadata.name ?? "", signal);
    return whole && whole.metadata.uid === summary.metadata.uid && isTerminal(whole) ? whole : summary;
  }

  deleted(d: Delegation): void {
    if (isTerminal(d)) {
      this.#settle(d);
      return;
    }
    this.#settle({
      ...d,
      status: { ...d.status, phase: "Failed", reason: "Cancelled", message: "the Delegation was deleted" },
    });
  }

  #settle(d: Delegation): void {
    const key = objectKey(d);
    const set = this.#waiters.get(key);
    if (!set) return;
    this.#waiters.delete(key);
    for (const waiter of set) waiter.resolve(d);
  }

  #fail(key: string, error: unknown): void {
    const set = this.#waiters.get(key);
    if (!set) return;
    this.#waiters.delete(key);
    for (const waiter of set) waiter.reject(error);
  }

  #remove(key: string, waiter: Waiter): void {
    const set = this.#waiters.get(key);
    set?.delete(waiter);
    if (set?.size === 0) this.#waiters.delete(key);
  }
}
