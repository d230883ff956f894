/**
 * The pods behind each Agent, from the EndpointSlices of its Service. kube-controller-manager
 * copies the Service's labels onto its slices, so an informer with
 * `app.kubernetes.io/managed-by=clawcrew` sees exactly ours; the Service (and so the slice's
 * `kubernetes.io/service-name`) is named after the Agent.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { LABEL_AGENT } from "../agent/names.ts";
import { GATEWAY_PORT } from "../openclaw/version.ts";
import type { Informer } from "../runtime/informer.ts";
import { keyOf } from "../runtime/store.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export interface PodEndpoint {
  pod: string;
  uid?: string | undefined;
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/** Where to send a request for a pod: its IP and port, unless a test maps it elsewhere. */
export interface DialTarget {
  host: string;
  port: number;
}

/**
 * Maps a pod to the address the router dials. Tests map pods to stub gateways on 127.0.0.1: pod
 * IPs of a cluster without a pod network must never be dialled.
 */
export type ResolveEndpoint = (namespace: string, agent: string, endpoint: PodEndpoint) => DialTarget | undefined;

/** What the dispatcher needs from an endpoint source. */
export interface EndpointSource {
  /** Every known endpoint of the agent's pods, ready or not, sorted by pod name. */
  endpoints(namespace: string, agent: string): readonly PodEndpoint[];
  /** Ready, not terminating: pods that may take new work. */
  readyPods(namespace: string, agent: string): readonly PodEndpoint[];
  dialTarget(namespace: string, agent: string, endpoint: PodEndpoint): DialTarget | undefined;
  /** Called with (namespace, agent) after that agent's endpoints changed. Returns unsubscribe. */
  onChange(callback: (namespace: string, agent: string) => void): () => void;
}

interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  targetRef?: { kind?: string; name?: string; uid?: string };
}

interface EndpointSlice extends KubernetesObject {
  addressType?: string;
  endpoints?: SliceEndpoint[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

/** The agent a slice belongs to: its Service's name, or the copied agent label. */
export function sliceAgent(slice: KubernetesObject): string | undefined {
  const labels = slice.metadata?.labels ?? {};
  return labels[SERVICE_NAME_LABEL] ?? labels[LABEL_AGENT];
}

/** The pod endpoints of one slice (IPv4/IPv6 slices; FQDN slices are ignored). */
export function sliceEndpoints(slice: KubernetesObject): PodEndpoint[] {
  const s = slice as EndpointSlice;
  if (s.addressType === "FQDN") return [];
  const port = s.ports?.find((p) => p.name === "http")?.port ?? s.ports?.[0]?.port ?? GATEWAY_PORT;
  const out: PodEndpoint[] = [];
  for (const e of s.endpoints ?? []) {
    const ip = e.addresses?.[0];
    const pod = e.targetRef?.kind === undefined || e.targetRef.kind === "Pod" ? e.targetRef?.name : undefined;
    if (!ip || !pod) continue;
    // Per the EndpointSlice API, a nil ready/serving means true and a nil terminating means false.
    const ready = e.conditions?.ready ?? true;
    out.push({
      pod,
      uid: e.targetRef?.uid,
      ip,
      port,
      ready,
      serving: e.conditions?.serving ?? ready,
      terminating: e.conditions?.terminating ?? false,
    });
  }
  return out;
}

export interface EndpointTrackerOptions {
  slices: Informer<KubernetesObject>;
  resolve?: ResolveEndpoint;
}

export class EndpointTracker implements EndpointSource {
  readonly #slices: Informer<KubernetesObject>;
  readonly #resolve: ResolveEndpoint;
  /** ns/agent → slice key → endpoints. */
  readonly #byAgent = new Map<string, Map<string, PodEndpoint[]>>();
  /** ns/agent → its merged endpoints, built on first use after a change (the router asks per dispatch). */
  readonly #merged = new Map<string, { all: readonly PodEndpoint[]; ready: readonly PodEndpoint[] }>();
  readonly #listeners = new Set<(namespace: string, agent: string) => void>();
  readonly #unsubscribe: (() => void)[];
  /** ns/agent → pods a scale-down is about to remove: they take no new work. */
  readonly #draining = new Map<string, Set<string>>();

  constructor(options: EndpointTrackerOptions) {
    this.#slices = options.slices;
    this.#resolve = options.resolve ?? ((_ns, _agent, e) => ({ host: e.ip, port: e.port }));
    const upsert = (slice: KubernetesObject) => this.#set(slice, sliceEndpoints(slice));
    const remove = (slice: KubernetesObject) => this.#set(slice, undefined);
    this.#unsubscribe = [
      this.#slices.on("add", upsert),
      this.#slices.on("update", (oldSlice, newSlice) => {
        if (oldSlice !== newSlice && sliceAgent(oldSlice) !== sliceAgent(newSlice)) remove(oldSlice);
        upsert(newSlice);
      }),
      this.#slices.on("delete", remove),
    ];
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#listeners.clear();
  }

  endpoints(namespace: string, agent: string): readonly PodEndpoint[] {
    return this.#mergedOf(keyOf({ namespace, name: agent })).all;
  }

  readyPods(namespace: string, agent: string): readonly PodEndpoint[] {
    return this.#mergedOf(keyOf({ namespace, name: agent })).ready;
  }

  /** Stops routing new work to these pods of the agent (a scale-down is about to remove them). */
  drain(namespace: string, agent: string, pods: Iterable<string>): void {
    const key = keyOf({ namespace, name: agent });
    const set = this.#draining.get(key) ?? new Set<string>();
    for (const pod of pods) set.add(pod);
    if (set.size === 0) return;
    this.#draining.set(key, set);
    this.#merged.delete(key);
    for (const listener of this.#listeners) listener(namespace, agent);
  }

  /** Routes to every ready pod of the agent again (it scaled up, or the scale-down was not written). */
  undrain(namespace: string, agent: string): void {
    const key = keyOf({ namespace, name: agent });
    if (!this.#draining.delete(key)) return;
    this.#merged.delete(key);
    for (const listener of this.#listeners) listener(namespace, agent);
  }

  /** Pods of the agent that take no new work because a scale-down removes them. */
  draining(namespace: string, agent: string): ReadonlySet<string> {
    return this.#draining.get(keyOf({ namespace, name: agent })) ?? new Set();
  }

  #mergedOf(key: string): { all: readonly PodEndpoint[]; ready: readonly PodEndpoint[] } {
    let merged = this.#merged.get(key);
    if (merged) return merged;
    // A pod can appear in two slices while the controller moves it: keep the first, prefer ready.
    const byPod = new Map<string, PodEndpoint>();
    for (const list of this.#byAgent.get(key)?.values() ?? []) {
      for (const e of list) {
        const seen = byPod.get(e.pod);
        if (!seen || (!seen.ready && e.ready)) byPod.set(e.pod, e);
      }
    }
    const all = [...byPod.values()].sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
    const draining = this.#draining.get(key);
    if (draining) {
      // A drained pod that left the slices is gone for good; forget it.
      for (const pod of draining) if (!byPod.has(pod)) draining.delete(pod);
      if (draining.size === 0) this.#draining.delete(key);
    }
    merged = { all, ready: all.filter((e) => e.ready && !e.terminating && !draining?.has(e.pod)) };
    if (this.#byAgent.has(key)) this.#merged.set(key, merged);
    return merged;
  }

  dialTarget(namespace: string, agent: string, endpoint: PodEndpoint): DialTarget | undefined {
    return this.#resolve(namespace, agent, endpoint);
  }

  onChange(callback: (namespace: string, agent: string) => void): () => void {
    this.#listeners.add(callback);
    return () => this.#listeners.delete(callback);
  }

  #set(slice: KubernetesObject, endpoints: PodEndpoint[] | undefined): void {
    const agent = sliceAgent(slice);
    const namespace = slice.metadata?.namespace ?? "";
    if (!agent) return;
    const key = keyOf({ namespace, name: agent });
    const sliceKey = slice.metadata?.name ?? "";
    let slices = this.#byAgent.get(key);
    this.#merged.delete(key);
    if (endpoints) {
      if (!slices) {
        slices = new Map();
        this.#byAgent.set(key, slices);
      }
      slices.set(sliceKey, endpoints);
    } else if (slices) {
      slices.delete(sliceKey);
      if (slices.size === 0) this.#byAgent.delete(key);
    }
    for (const listener of this.#listeners) listener(namespace, agent);
  }
}
