/**
 * Builds the Delegation controller and its Dispatcher from informers the operator creates and
 * starts. The controller owns Delegations (pipeline children reconcile their parent); the
 * Dispatcher follows deletes, Agent changes and EndpointSlice changes directly.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import { API_VERSION } from "../api/meta.ts";
import type { BackoffOptions } from "../runtime/backoff.ts";
import type { KubeClient } from "../runtime/client.ts";
import { Controller } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { ControllerMetrics } from "../runtime/metrics.ts";
import { parseAgent, parseTeam, teamsInNamespace } from "../team/lookup.ts";
import { isDelegator } from "../team/topology.ts";
import { delegationReader } from "./cache.ts";
import type { Clock } from "./clock.ts";
import { Dispatcher } from "./dispatcher.ts";
import { EndpointTracker, type ResolveEndpoint } from "./endpoints.ts";
import { effectivePolicy } from "./policy.ts";
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
  logger?: Logger;
  /** Reconcile workers. Default 4. */
  concurrency?: number;
  /** --delegation-running-delay. Default 250 ms. */
  runningDelayMs?: number;
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

export function createDelegationController(deps: DelegationControllerDeps): DelegationController {
  const { client, delegations, agents, teams } = deps;
  const agentObj = (ns: string, name: string) => agents.get(`${ns}/${name}`);
  const endpoints =
    deps.shared?.endpoints ?? new EndpointTracker({ slices: deps.endpointSlices, resolve: deps.resolve });
  const tokens = deps.shared?.tokens ?? new TokenStore(deps.secrets, (ns, agent) => agentObj(ns, agent)?.metadata?.uid);
  const waiters =
    deps.shared?.waiters ??
    new WaiterRegistry({
      lookup: (ns, name) => delegations.get(`${ns}/${name}`) as Delegation | undefined,
      read: delegationReader(client),
    });
  if (!deps.shared?.waiters) waiters.watch(delegations);
  const writer = deps.writer ?? new KubeStatusWriter(client);
  const results = deps.results ?? new ConfigMapResultStore(client);

  const dispatcher = new Dispatcher({
    endpoints,
    tokens,
    agent: (ns, name) => {
      const obj = agentObj(ns, name) as { spec?: { maxConcurrentTasks?: number } } | undefined;
      return obj ? { maxConcurrentTasks: obj.spec?.maxConcurrentTasks ?? 4 } : undefined;
    },
    policy: (d, agent) => {
      const ns = d.metadata.namespace ?? "";
      const teamObj = d.spec.team ? teams.get(`${ns}/${d.spec.team}`) : undefined;
      return effectivePolicy(
        d,
        teamObj ? parseTeam(teamObj) : undefined,
        agent ? parseAgent(agentObj(ns, agent)) : undefined,
        deps.clock?.now() ?? Date.now(),
      );
    },
    isDelegator: (ns, agent) => teamsInNamespace(teams, ns).some((t) => isDelegator(t, agent)),
    transport: deps.transport ?? chatCompletion,
    writer,
    results,
    waiters,
    ...(deps.clock && { clock: deps.clock }),
    ...(deps.runningDelayMs !== undefined && { runningDelayMs: deps.runningDelayMs }),
    ...(deps.backoff && { backoff: deps.backoff }),
    ...(deps.logger && { logger: deps.logger }),
  });

  const unsubscribe = [
    delegations.on("add", (obj) => dispatcher.observe(obj as Delegation)),
    delegations.on("update", (_old, obj) => dispatcher.observe(obj as Delegation)),
    delegations.on("delete", (obj) => dispatcher.deleted(obj as Delegation)),
    agents.on("add", (obj) => dispatcher.agentChanged(obj.metadata?.namespace ?? "", obj.metadata?.name ?? "")),
    agents.on("update", (_old, obj) =>
      dispatcher.agentChanged(obj.metadata?.namespace ?? "", obj.metadata?.name ?? ""),
    ),
  ];

  const controller = new Controller({
    name: "delegation",
    forKind: { apiVersion: API_VERSION, kind: "Delegation" },
    primary: delegations,
    owns: [{ informer: delegations }],
    // No requests from these (the Dispatcher follows them itself), but start() waits for their sync:
    // admission and dispatch must not see an empty Agent, team, token or endpoint cache.
    watches: [agents, teams, deps.endpointSlices, deps.secrets].map((informer) => ({ informer, map: () => [] })),
    reconcile: delegationReconciler({
      client,
      delegations,
      agents,
      teams,
      dispatcher,
      writer,
      results,
      ...(deps.events && { events: deps.events }),
      ...(deps.clock && { clock: deps.clock }),
    }),
    concurrency: deps.concurrency ?? 4,
    ...(deps.metrics && { metrics: deps.metrics }),
    ...(deps.logger && { logger: deps.logger }),
  });

  // The dispatcher hands its waiters the object its terminal write returned: no read for those.
  waiters.handOver((uid) => dispatcher.has(uid));

  return {
    controller,
    dispatcher,
    endpoints,
    tokens,
    waiters,
    async stop(options = {}) {
      for (const u of unsubscribe.splice(0)) u();
      waiters.handOver(undefined);
      await dispatcher.stop();
      await controller.stop({ graceMs: options.graceMs ?? 20_000 });
      if (!deps.shared?.endpoints) endpoints.close();
      if (!deps.shared?.tokens) tokens.close();
      if (!deps.shared?.waiters) waiters.close();
    },
  };
}
