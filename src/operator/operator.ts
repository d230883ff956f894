/** Builds the informers and controllers of the operator and runs them while this process leads. */
import type { KubernetesObject, V1NetworkPolicy, V1NetworkPolicyEgressRule } from "@kubernetes/client-node";
import { DELEGATION_TOKEN_KEY, TOKEN_KEY } from "../agent/desired.ts";
import type { AgentPolicy } from "../agent/policy.ts";
import { agentReconciler } from "../agent/reconcile.ts";
import { teamWatches } from "../agent/watches.ts";
import { addDelegationIndexes } from "../api/indexes.ts";
import { MANAGED_BY_SELECTOR } from "../api/labels.ts";
import { AGENT_KIND, AGENT_TEAM_KIND, DELEGATION_KIND } from "../api/registry.ts";
import { createDelegationController, type DelegationController } from "../delegation/controller.ts";
import { delegationReader, summarizeFinished } from "../delegation/finished-summary.ts";
import { EndpointTracker, type ResolveEndpoint } from "../delegation/pod-endpoints.ts";
import { TokenStore, tokenSecretAgent } from "../delegation/tokens.ts";
import { WaiterRegistry } from "../delegation/waiters.ts";
import { type CallerLimitOptions, CallerLimits } from "../delegation-endpoint/caller-limits.ts";
import { KubeDelegationService } from "../delegation-endpoint/kube-service.ts";
import type { KubeClient } from "../runtime/client.ts";
import { Controller } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { ControllerMetrics } from "../runtime/metrics.ts";
import type { GroupVersionResource } from "../runtime/resource.ts";
import { keyOf } from "../runtime/store.ts";
import { Autoscaler } from "../scaling/autoscaler.ts";
import type { ScalingMetrics } from "../scaling/metrics.ts";
import { createTeamController } from "../team/controller.ts";
import { parseAgent, teamsInNamespace } from "../team/lookup.ts";
import { isDelegator } from "../team/topology.ts";
import type { AgentCapacitySample, DelegationMetricsRegistry } from "./delegation-metrics.ts";

const RESYNC_MS = 10 * 60_000;

/** The operator's tokens are 32 random bytes; a longer value (base64 in data) is not one it made. */
const MAX_TOKEN_DATA = 256;

/**
 * A Secret's metadata, plus its gateway and delegation tokens when it looks like an Agent's token Secret
 * (name, label, owner; the TokenStore checks the owner's uid) and they are token-sized: no other Secret
 * data is cached.
 */
export function tokenSecretOnly<T extends KubernetesObject>(obj: T): T {
  const data = tokenSecretAgent(obj) ? (obj as { data?: Record<string, string> }).data : undefined;
  const kept = [TOKEN_KEY, DELEGATION_TOKEN_KEY].flatMap((key) => {
    const token = data?.[key];
    return token !== undefined && token.length <= MAX_TOKEN_DATA ? [[key, token] as const] : [];
  });
  const { apiVersion, kind, metadata } = obj;
  return { apiVersion, kind, metadata, ...(kept.length > 0 && { data: Object.fromEntries(kept) }) } as T;
}

/**
 * The kinds an Agent owns, cached to trigger its reconcile: only the objects the operator created
 * (MANAGED_BY_SELECTOR), never every Secret in the cluster.
 */
export const OWNED_BY_AGENT: GroupVersionResource[] = [
  { group: "apps", version: "v1", plural: "deployments" },
  { group: "apps", version: "v1", plural: "statefulsets" },
  { group: "", version: "v1", plural: "configmaps" },
  { group: "", version: "v1", plural: "services" },
  { group: "", version: "v1", plural: "secrets" },
  { group: "", version: "v1", plural: "serviceaccounts" },
  { group: "policy", version: "v1", plural: "poddisruptionbudgets" },
];

export interface OperatorDeps {
  client: KubeClient;
  events: EventRecorder;
  metrics: ControllerMetrics;
  /** The autoscaler's per-agent gauges. */
  scalingMetrics?: ScalingMetrics | undefined;
  logger: Logger;
  /** The namespaces watched, one list+watch each; empty watches every namespace. */
  namespaces: readonly string[];
  concurrency: number;
  /** The URL a lead's MCP client calls (--delegation-url). */
  delegationEndpointUrl: string;
  operatorNamespace: string;
  operatorPodLabels: Record<string, string>;
  delegationPort: number;
  agentEgress?: V1NetworkPolicyEgressRule[] | undefined;
  /** What an Agent may ask for; DEFAULT_AGENT_POLICY when unset. */
  agentPolicy?: AgentPolicy | undefined;
  /** Per-caller limits of the delegation endpoint. */
  callerLimits?: Partial<CallerLimitOptions> | undefined;
  /** clawcrew's own metrics (docs/metrics.md); told of finished Delegations and deleted Agents and teams. */
  delegationMetrics?: DelegationMetricsRegistry | undefined;
  /** stop() ends within this, all phases together: in-flight reconciles are aborted past it. Default 20 s. */
  stopGraceMs?: number | undefined;
  /** In-process tests map pods to loopback stub gateways; pod IPs are dialled otherwise. */
  resolve?: ResolveEndpoint | undefined;
}

/**
 * Caches (informers) run on every replica, so a standby serves the delegation endpoint and takes
 * over warm; controllers and the dispatcher run only while this process leads.
 */
export class Operator {
  readonly #deps: OperatorDeps;
  readonly #informers: Pick<Informer, "start" | "stop" | "hasSynced">[] = [];
  readonly #controllers: Controller[] = [];
  readonly #caches: {
    agents: Informer<KubernetesObject>;
    teams: Informer<KubernetesObject>;
    delegations: Informer<KubernetesObject>;
    networkPolicies: Informer<V1NetworkPolicy>;
    endpointSlices: Informer<KubernetesObject>;
    secrets: Informer<KubernetesObject>;
    owned: { informer: Informer<KubernetesObject> }[];
  };
  readonly #shared: { endpoints: EndpointTracker; tokens: TokenStore; waiters: WaiterRegistry };
  #delegation: DelegationController | undefined;
  #autoscaler: Autoscaler | undefined;
  readonly service: KubeDelegationService;

  constructor(deps: OperatorDeps) {
    this.#deps = deps;
    const agents = this.#informer(AGENT_KIND.gvr);
    const teams = this.#informer(AGENT_TEAM_KIND.gvr);
    const delegations = this.#informer(DELEGATION_KIND.gvr, undefined, summarizeFinished);
    // Every Delegation index on the shared cache: the endpoint, the controller and the dispatcher look up by them.
    addDelegationIndexes(delegations);
    const networkPolicies = this.#informer<V1NetworkPolicy>(
      { group: "networking.k8s.io", version: "v1", plural: "networkpolicies" },
      MANAGED_BY_SELECTOR,
    );
    const endpointSlices = this.#informer(
      { group: "discovery.k8s.io", version: "v1", plural: "endpointslices" },
      MANAGED_BY_SELECTOR,
    );
    // Owned kinds only trigger reconciles (from their ownerReferences), and anyone can set the managed-by
    // label: their caches hold metadata alone (PartialObjectMetadata), Secrets only an Agent's token.
    const owned = OWNED_BY_AGENT.map((resource) => ({
      informer:
        resource.plural === "secrets"
          ? this.#informer(resource, MANAGED_BY_SELECTOR, tokenSecretOnly)
          : this.#informer(resource, MANAGED_BY_SELECTOR, undefined, true),
    }));
    const secrets = owned.find((o) => o.informer.resource.plural === "secrets")!.informer;
    this.#caches = { agents, teams, delegations, networkPolicies, endpointSlices, secrets, owned };
    const forget = deps.delegationMetrics;
    if (forget) {
      agents.on("delete", (obj) => forget.forgetAgent(obj.metadata?.namespace ?? "", obj.metadata?.name ?? ""));
      teams.on("delete", (obj) => forget.forgetTeam(obj.metadata?.namespace ?? "", obj.metadata?.name ?? ""));
    }
    const waiters = new WaiterRegistry({
      lookup: (ns, name) => DELEGATION_KIND.lookup(delegations, ns, name),
      read: delegationReader(deps.client),
    });
    waiters.watch(delegations);
    this.#shared = {
      endpoints: new EndpointTracker({ slices: endpointSlices, ...(deps.resolve && { resolve: deps.resolve }) }),
      tokens: new TokenStore(secrets, (ns, agent) => agents.get(keyOf({ namespace: ns, name: agent }))?.metadata?.uid),
      waiters,
    };
    this.service = new KubeDelegationService({
      client: deps.client,
      agents,
      teams,
      delegations,
      tokens: this.#shared.tokens,
      waiters,
      limits: new CallerLimits(deps.callerLimits),
    });
  }

  /** T is the shape the API server guarantees (built-in kinds); clawcrew kinds stay raw until parsed. */
  #informer<T extends KubernetesObject = KubernetesObject>(
    resource: GroupVersionResource,
    labelSelector?: string,
    transform?: (obj: T) => T,
    metadataOnly = false,
  ): Informer<T> {
    const informer = new Informer<T>({
      client: this.#deps.client,
      resource,
      namespaces: this.#deps.namespaces,
      ...(labelSelector && { labelSelector }),
      ...(transform && { transform }),
      ...(metadataOnly && { metadataOnly }),
      resyncPeriodMs: RESYNC_MS,
      logger: this.#deps.logger,
    });
    this.#informers.push(informer);
    return informer;
  }

  /** True once every informer has listed its objects. */
  synced(): boolean {
    return this.#informers.every((i) => i.hasSynced());
  }

  /** Starts the caches; on every replica, at boot. */
  startCaches(): void {
    for (const informer of this.#informers) informer.start();
  }

  /** Builds and starts the controllers; once, when this process starts leading. */
  async startControllers(): Promise<void> {
    const deps = this.#deps;
    const { agents, teams, delegations, networkPolicies, endpointSlices, secrets, owned } = this.#caches;
    const common = {
      client: deps.client,
      events: deps.events,
      metrics: deps.metrics,
      logger: deps.logger,
      concurrency: deps.concurrency,
    };
    this.#delegation = createDelegationController({
      ...common,
      delegations,
      agents,
      teams,
      endpointSlices,
      secrets,
      shared: this.#shared,
      ...(deps.delegationMetrics && { delegationMetrics: deps.delegationMetrics }),
    });
    this.#controllers.push(
      new Controller({
        name: "agent",
        forKind: { apiVersion: AGENT_KIND.apiVersion, kind: AGENT_KIND.kind },
        primary: agents,
        owns: owned,
        watches: teamWatches(teams, agents),
        reconcile: agentReconciler({
          client: deps.client,
          agents,
          events: deps.events,
          teams,
          delegationEndpointUrl: deps.delegationEndpointUrl,
          ...(deps.agentPolicy && { policy: deps.agentPolicy }),
        }),
        concurrency: deps.concurrency,
        metrics: deps.metrics,
        logger: deps.logger,
      }),
      createTeamController({
        ...common,
        agents,
        teams,
        networkPolicies,
        operatorNamespace: deps.operatorNamespace,
        operatorPodLabels: deps.operatorPodLabels,
        delegationPort: deps.delegationPort,
        ...(deps.agentEgress && { agentEgress: deps.agentEgress }),
      }),
      this.#delegation.controller,
    );
    await Promise.all(this.#controllers.map((c) => c.start()));
    this.#autoscaler = new Autoscaler({
      client: deps.client,
      agents,
      dispatcher: this.#delegation.dispatcher,
      endpoints: this.#shared.endpoints,
      isLead: (ns, agent) => teamsInNamespace(teams, ns).some((t) => isDelegator(t, agent)),
      events: deps.events,
      logger: deps.logger,
      metrics: deps.scalingMetrics,
    });
    this.#autoscaler.start();
  }

  /** Pending and running delegations per agent, while leading (for metrics). */
  loads() {
    return this.#delegation?.dispatcher.loads() ?? [];
  }

  /** Every Agent's in-flight delegations, ready replicas and slots, while leading (for metrics). */
  capacity(): AgentCapacitySample[] {
    const dispatcher = this.#delegation?.dispatcher;
    if (!dispatcher) return [];
    return this.#caches.agents.list().flatMap((obj) => {
      const agent = parseAgent(obj);
      if (!agent) return [];
      const namespace = agent.metadata.namespace ?? "";
      const name = agent.metadata.name ?? "";
      const load = dispatcher.load(namespace, name);
      return [{ namespace, agent: name, inFlight: load.inFlight, readyReplicas: load.readyPods, slots: load.capacity }];
    });
  }

  /** The model an Agent's turns use first, for the tokens metric's label. */
  modelOf(namespace: string, agent: string): string {
    return parseAgent(this.#caches.agents.get(keyOf({ namespace, name: agent })))?.spec.model?.primary ?? "";
  }

  /** Aborts deliveries (they are re-dispatched by the next leader), lets in-flight reconciles finish their writes, then stops watching. */
  async stop(): Promise<void> {
    // One deadline for every phase, so that together they fit the pod's termination grace period.
    const deadline = Date.now() + (this.#deps.stopGraceMs ?? 20_000);
    const left = () => Math.max(0, deadline - Date.now());
    await this.#autoscaler?.stop();
    const delegation = this.#delegation;
    await delegation?.stop({ graceMs: left() });
    const rest = this.#controllers.filter((c) => c !== delegation?.controller);
    await Promise.all(rest.map((c) => c.stop({ graceMs: left() })));
    this.#shared.endpoints.close();
    this.#shared.waiters.close();
    this.#shared.tokens.close();
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}
