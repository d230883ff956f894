/**
 * Builds the Delegation controller and its Dispatcher from informers the operator creates and
 * starts. The controller owns Delegations (pipeline children reconcile their parent), and its
 * reconciler is the only caller of the Dispatcher. The Dispatcher hears of capacity (ready pods,
 * Agents' slots) from its own sources, the way controller-runtime's source.Channel feeds side work.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { addDelegationIndexes, addTeamIndexes } from "../api/indexes.ts";
import { API_VERSION } from "../api/meta.ts";
import { AGENT_TEAM_KIND, DELEGATION_KIND } from "../api/registry.ts";
import type { BackoffOptions } from "../runtime/backoff.ts";
import type { KubeClient } from "../runtime/client.ts";
import { Controller } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { ControllerMetrics } from "../runtime/metrics.ts";
import { keyOf } from "../runtime/store.ts";
import { parseAgent, parseTeam, teamsInNamespace } from "../team/lookup.ts";
import { isDelegator } from "../team/topology.ts";
import type { Clock } from "./clock.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { AgentSlots } from "./dispatcher-deps.ts";
import type { DelegationMetrics } from "./finished-metrics.ts";
import { delegationReader } from "./finished-summary.ts";
import { EndpointTracker, type ResolveEndpoint } from "./pod-endpoints.ts";
import { effectivePolicy, withinParent } from "./policy.ts";
import { RecentWrites } from "./recent-writes.ts";
import { delegationReconciler } from "./reconcile.ts";
import { ConfigMapResultStore, type ResultStore } from "./result.ts";
import { KubeStatusWriter, type StatusWriter } from "./status-writer.ts";
import { TokenStore } from "./tokens.ts";
import { chatCompletion, type Transport } from "./transport.ts";
import { WaiterRegistry } from "./waiters.ts";

export interface DelegationControllerDeps {
  client: KubeClient;
  /** All started by the caller; the same informers may be shared with other controllers. */
  delegations: Informer<KubernetesObject>;
  agents: Informer<KubernetesObject>;
  teams: Informer<KubernetesObject>;
  /** discovery.k8s.io/v1 endpointslices with `app.kubernetes.io/managed-by=clawcrew`. */
  endpointSlices: Informer<KubernetesObject>;
  /** v1 secrets with `app.kubernetes.io/managed-by=clawcrew` (the agents' token Secrets among them). */
  secrets: Informer<KubernetesObject>;
  events?: EventRecorder;
  metrics?: ControllerMetrics;
  /** Told of each Delegation this process finishes (docs/metrics.md). */
  delegationMetrics?: DelegationMetrics;
  logger?: Logger;
  /** Reconcile workers. Default 4. */
  concurrency?: number;
  /** Tests map pods to loopback stub gateways; pod IPs are dialled otherwise. */
  resolve?: ResolveEndpoint;
  transport?: Transport;
  writer?: StatusWriter;
  results?: ResultStore;
  clock?: Clock;
  backoff?: BackoffOptions;
  /**
   * Caches that outlive leadership (the endpoint uses them on every replica). Created here when
   * not given, and then closed by stop().
   */
  shared?: { endpoints?: EndpointTracker; tokens?: TokenStore; waiters?: WaiterRegistry };
}

export interface DelegationController {
  controller: Controller;
  dispatcher: Dispatcher;
  endpoints: EndpointTracker;
  tokens: TokenStore;
  waiters: WaiterRegistry;
  /** Stops the dispatcher (aborting every request, writing nothing more), then the controller. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Each Agent's maxConcurrentTasks, from the Agents informer; changes are signalled when they matter. */
function agentSlots(agents: Informer<KubernetesObject>): AgentSlots & { close(): void } {
  const slotsOf = (obj: KubernetesObject | undefined) => parseAgent(obj)?.spec.maxConcurrentTasks;
  const listeners = new Set<(namespace: string, agent: string) => void>();
  const changed = (obj: KubernetesObject) => {
    for (const l of listeners) l(obj.metadata?.namespace ?? "", obj.metadata?.name ?? "");
  };
  const unsubscribe = [
    agents.on("add", changed),
    agents.on("update", (old, obj) => {
      if (slotsOf(old) !== slotsOf(obj)) changed(obj);
    }),
  ];
  return {
    slots: (namespace, agent) => slotsOf(agents.get(keyOf({ namespace, name: agent }))),
    unavailable: (namespace, agent) => {
      const spec = parseAgent(agents.get(keyOf({ namespace, name: agent })))?.spec;
      return spec && spec.replicas === 0 && !spec.scaling
        ? `Agent ${agent} has spec.replicas 0 and no spec.scaling: no pod will start for this Delegation`
        : undefined;
    },
    onChange(callback) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
    close: () => {
      for (const u of unsubscribe) u();
    },
  };
}

export function createDelegationController(deps: DelegationControllerDeps): DelegationController {
  const { client, delegations, agents, teams } = deps;
  // What the reconciler looks up by (pipeline children by parent; teams by namespace and agent).
  addDelegationIndexes(delegations);
  addTeamIndexes(teams);
  const agentObj = (ns: string, name: string) => agents.get(keyOf({ namespace: ns, name }));
  const endpoints =
    deps.shared?.endpoints ?? new EndpointTracker({ slices: deps.endpointSlices, resolve: deps.resolve });
  const tokens = deps.shared?.tokens ?? new TokenStore(deps.secrets, (ns, agent) => agentObj(ns, agent)?.metadata?.uid);
  const waiters =
    deps.shared?.waiters ??
    new WaiterRegistry({
      lookup: (ns, name) => DELEGATION_KIND.lookup(delegations, ns, name),
      read: delegationReader(client),
    });
  if (!deps.shared?.waiters) waiters.watch(delegations);
  const writer = deps.writer ?? new KubeStatusWriter(client);
  const results = deps.results ?? new ConfigMapResultStore(client);
  const recent = new RecentWrites();
  const slots = agentSlots(agents);
  let controller: Controller | undefined;

  const dispatcher = new Dispatcher({
    endpoints,
    tokens,
    agents: slots,
    policy: (d, agent) => {
      const ns = d.metadata.namespace ?? "";
      const teamObj = d.spec.team ? teams.get(keyOf({ namespace: ns, name: d.spec.team })) : undefined;
      const now = deps.clock?.now() ?? Date.now();
      const team = teamObj ? parseTeam(teamObj) : undefined;
      const own = effectivePolicy(d, team, agent ? parseAgent(agentObj(ns, agent)) : undefined, now);
      const parent = d.spec.parent ? DELEGATION_KIND.lookup(delegations, ns, d.spec.parent) : undefined;
      if (!parent) return own;
      const parentTeam = parent.spec.team ? AGENT_TEAM_KIND.lookup(teams, ns, parent.spec.team) : undefined;
      const parentAgent = parent.status?.agent ? parseAgent(agentObj(ns, parent.status.agent)) : undefined;
      const parentPolicy = effectivePolicy(parent, parentTeam, parentAgent, now);
      return withinParent(own, parent.metadata.name!, parentPolicy.deadline);
    },
    isDelegator: (ns, agent) => teamsInNamespace(teams, ns).some((t) => isDelegator(t, agent)),
    transport: deps.transport ?? chatCompletion,
    writer,
    cached: (ns, name) => DELEGATION_KIND.lookup(delegations, ns, name),
    results,
    recent,
    waiters,
    events: deps.events,
    metrics: deps.delegationMetrics,
    requeue: (namespace, name) => controller?.enqueue({ namespace, name }),
    ...(deps.clock && { clock: deps.clock }),
    ...(deps.backoff && { backoff: deps.backoff }),
    ...(deps.logger && { logger: deps.logger }),
  });

  controller = new Controller({
    name: "delegation",
    forKind: { apiVersion: API_VERSION, kind: "Delegation" },
    primary: delegations,
    owns: [{ informer: delegations }],
    // No requests from these (the Dispatcher hears of capacity itself), but start() waits for their
    // sync: admission and dispatch must not see an empty Agent, team, token or endpoint cache.
    watches: [agents, teams, deps.endpointSlices, deps.secrets].map((informer) => ({ informer, map: () => [] })),
    reconcile: delegationReconciler({
      client,
      delegations,
      agents,
      teams,
      dispatcher,
      writer,
      results,
      recent,
      events: deps.events,
      metrics: deps.delegationMetrics,
      ...(deps.clock && { clock: deps.clock }),
    }),
    concurrency: deps.concurrency ?? 4,
    ...(deps.metrics && { metrics: deps.metrics }),
    ...(deps.logger && { logger: deps.logger }),
  });

  // The dispatcher hands its waiters the object its terminal write returned: no read for those.
  waiters.handOver((uid) => dispatcher.has(uid));

  const started = controller;
  return {
    controller: started,
    dispatcher,
    endpoints,
    tokens,
    waiters,
    async stop(options = {}) {
      slots.close();
      waiters.handOver(undefined);
      await dispatcher.stop();
      await started.stop({ graceMs: options.graceMs ?? 20_000 });
      if (!deps.shared?.endpoints) endpoints.close();
      if (!deps.shared?.tokens) tokens.close();
      if (!deps.shared?.waiters) waiters.close();
    },
  };
}
