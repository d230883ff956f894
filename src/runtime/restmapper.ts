/**
 * Maps apiVersion + kind to the REST resource (plural, namespaced) through API discovery, like
 * controller-runtime's dynamic RESTMapper: one discovery document per group/version, cached, and
 * fetched again once when a kind is missing (a CRD installed after the first lookup).
 */
import { isNotFound } from "./errors.ts";
import { parseApiVersion } from "./resource.ts";

export interface ResourceMapping {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** The kind is not served by the API (no such CRD, or a typo). */
export class NoKindMatchError extends Error {
  override readonly name = "NoKindMatchError";
  readonly apiVersion: string;
  readonly kind: string;
  constructor(apiVersion: string, kind: string) {
    super(`no resource for kind ${kind} in ${apiVersion}`);
    this.apiVersion = apiVersion;
    this.kind = kind;
  }
}

interface APIResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

type Get = (path: string, signal?: AbortSignal) => Promise<unknown>;

export class RestMapper {
  readonly #get: Get;
  readonly #cache = new Map<string, Promise<Map<string, ResourceMapping>>>();

  constructor(get: Get) {
    this.#get = get;
  }

  async mapping(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceMapping> {
    try {
      const cached = await this.#kinds(apiVersion, signal, false);
      const found = cached.get(kind) ?? (await this.#kinds(apiVersion, signal, true)).get(kind);
      if (found) return found;
    } catch (error) {
      if (!isNotFound(error)) throw error; // 404: the group/version is not served at all
    }
    throw new NoKindMatchError(apiVersion, kind);
  }

  #kinds(apiVersion: string, signal: AbortSignal | undefined, refresh: boolean): Promise<Map<string, ResourceMapping>> {
    const existing = this.#cache.get(apiVersion);
    if (existing && !refresh) return existing;
    const { group, version } = parseApiVersion(apiVersion);
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const loading = this.#get(path, signal).then((body) => {
      const kinds = new Map<string, ResourceMapping>();
      for (const r of (body as APIResourceList | undefined)?.resources ?? []) {
        if (r.name.includes("/")) continue; // subresources such as deployments/status
        kinds.set(r.kind, { group, version, plural: r.name, kind: r.kind, namespaced: r.namespaced });
      }
      return kinds;
    });
    // A failed lookup is not cached.
    loading.catch(() => {
      if (this.#cache.get(apiVersion) === loading) this.#cache.delete(apiVersion);
    });
    this.#cache.set(apiVersion, loading);
    return loading;
  }
}
