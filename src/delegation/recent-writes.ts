/**
 * What a stale cache needs remembered (the "expectations" of client-go's controllers): Delegations
 * this process wrote terminal, until the cache shows them terminal too, and Delegations it gave up
 * because another writer took them, for a grace period, so that their stale copies are not run.
 */
import { keyOf } from "../runtime/store.ts";

export class RecentWrites {
  /** uid → our terminal write landed; the cache may still show an older, unfinished copy. */
  readonly #finished = new Set<string>();
  /** uid → when we dropped it because another writer took it over. */
  readonly #dropped = new Map<string, number>();
  /** ns/name → uid, to forget by key when the object is gone. */
  readonly #uids = new Map<string, string>();

  finished(namespace: string, name: string, uid: string): void {
    this.#finished.add(uid);
    this.#uids.set(keyOf({ namespace, name }), uid);
  }

  dropped(namespace: string, name: string, uid: string, at: number): void {
    this.#dropped.set(uid, at);
    this.#uids.set(keyOf({ namespace, name }), uid);
  }

  /** True when this uid's unfinished copy in the cache is older than our terminal write. */
  isFinished(uid: string): boolean {
    return this.#finished.has(uid);
  }

  /** When this uid was dropped, if it was. */
  droppedAt(uid: string): number | undefined {
    return this.#dropped.get(uid);
  }

  /** The cache caught up (it shows the object terminal), or the object is gone. */
  forget(namespace: string, name: string, uid?: string): void {
    const key = keyOf({ namespace, name });
    const known = this.#uids.get(key);
    const gone = uid ?? known;
    if (gone === undefined) return;
    if (gone === known) this.#uids.delete(key);
    this.#finished.delete(gone);
    this.#dropped.delete(gone);
  }

  forgetDropped(uid: string): void {
    this.#dropped.delete(uid);
  }

  get size(): { finished: number; dropped: number } {
    return { finished: this.#finished.size, dropped: this.#dropped.size };
  }
}
