/** Builds the informers and controllers of the operator and runs them while this process leads. */
import type { KubernetesObject, V1NetworkPolicyEgressRule } from "@kubernetes/client-node";
import { agentReconciler } from "../agent/reconcile.ts";
import { teamWatches } from "../agent/watches.ts";
import { API_VERSION, GROUP, VERSION } from "../api/meta.ts";
import type { KubeClient } from "../runtime/client.ts";
import { Controller } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { ControllerMetrics } from "../runtime/metrics.ts";
import type { GroupVersionResource } from "../runtime/resource.ts";
import { createTeamController } from "../team/controller.ts";

/** Only objects the operator created are cached, never every Secret in the cluster. */
const MANAGED = "app.kubernetes.io/managed-by=clawcrew";
const RESYNC_MS = 10 * 60_000;

const OWNED_BY_AGENT: GroupVersionResource[] = [
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
  logger: Logger;
  /** "" watches every namespace. */
  namespace: string;
  concurrency: number;
  /** The URL a lead's MCP client calls (--delegation-url). */
  delegationEndpointUrl: string;
  operatorNamespace: string;
  operatorPodLabels: Record<string, string>;
  delegationPort: number;
  agentEgress?: V1NetworkPolicyEgressRule[] | undefined;
}

export class Operator {
  readonly #deps: OperatorDeps;
  readonly #informers: Informer<KubernetesObject>[] = [];
  readonly #controllers: Controller[] = [];

  constructor(deps: OperatorDeps) {
    this.#deps = deps;
    const agents = this.#informer({ group: GROUP, version: VERSION, plural: "agents" });
    const teams = this.#informer({ group: GROUP, version: VERSION, plural: "agentteams" });
    const networkPolicies = this.#informer(
      { group: "networking.k8s.io", version: "v1", plural: "networkpolicies" },
      MANAGED,
    );
    const owned = OWNED_BY_AGENT.map((resource) => ({ informer: this.#informer(resource, MANAGED) }));
    const common = {
      client: deps.client,
      events: deps.events,
      metrics: deps.metrics,
      logger: deps.logger,
      concurrency: deps.concurrency,
    };
    this.#controllers.push(
      new Controller({
        name: "agent",
        forKind: { apiVersion: API_VERSION, kind: "Agent" },
        primary: agents,
        owns: owned,
        watches: teamWatches(teams, agents),
        reconcile: agentReconciler({
          client: deps.client,
          agents,
          events: deps.events,
          teams,
          delegationEndpointUrl: deps.delegationEndpointUrl,
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
    );
  }

  #informer(resource: GroupVersionResource, labelSelector?: string): Informer<KubernetesObject> {
    const informer = new Informer<KubernetesObject>({
      client: this.#deps.client,
      resource,
      ...(this.#deps.namespace && { namespace: this.#deps.namespace }),
      ...(labelSelector && { labelSelector }),
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

  async start(): Promise<void> {
    for (const informer of this.#informers) informer.start();
    await Promise.all(this.#controllers.map((c) => c.start()));
  }

  /** Stops taking work, lets in-flight reconciles finish their writes, then stops watching. */
  async stop(): Promise<void> {
    await Promise.all(this.#controllers.map((c) => c.stop({ graceMs: 20_000 })));
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}
