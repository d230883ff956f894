/**
 * Callers waiting for Delegations to finish (the REST and MCP endpoint). Resolved by the
 * dispatcher's terminal write (fast path) or by the Delegations informer (standby path); a delete
 * resolves with a Failed/Cancelled copy of the last known object.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import type { Informer } from "../runtime/informer.ts";
import { isTerminal } from "./common.ts";

interface Waiter {
  resolve: (d: Delegation) => void;
  reject: (error: unknown) => void;
}

export class WaiterRegistry {
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #lookup: ((namespace: string, name: string) => Delegation | undefined) | undefined;
  #unsubscribe: (() => void)[] = [];

  /** `lookup` (the informer's cache) lets a wait on an already finished Delegation resolve at once. */
  constructor(lookup?: (namespace: string, name: string) => Delegation | undefined) {
    this.#lookup = lookup;
  }

  /** Feeds the registry from a Delegations informer. */
  watch(informer: Informer<KubernetesObject>): void {
    const seen = (obj: KubernetesObject) => this.observe(obj as Delegation);
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
    const cached = this.#lookup?.(namespace, name);
    if (cached && isTerminal(cached)) return Promise.resolve(cached);
    return new Promise<Delegation>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const key = `${namespace}/${name}`;
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
        reject,
      };
      set.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Any sighting of the object: resolves its waiters when it is terminal. */
  observe(d: Delegation): void {
    if (!isTerminal(d)) return;
    this.#settle(d);
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
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    const set = this.#waiters.get(key);
    if (!set) return;
    this.#waiters.delete(key);
    for (const waiter of set) waiter.resolve(d);
  }

  #remove(key: string, waiter: Waiter): void {
    const set = this.#waiters.get(key);
    set?.delete(waiter);
    if (set?.size === 0) this.#waiters.delete(key);
  }
}
