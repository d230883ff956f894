/**
 * The delegation endpoint's service on the cluster: admit against the caches (the only admission
 * of an agent's Delegation: the decision is recorded on it), create one Delegation (the only
 * write), and wait until the leader's dispatcher finishes it.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation } from "../api/delegation.ts";
import { addDelegationIndexes, addTeamIndexes, BY_UNFINISHED_CALLER } from "../api/indexes.ts";
import { ANNOTATION_ADMITTED, LABEL_AGENT, LABEL_FROM, LABEL_TEAM } from "../api/labels.ts";
import { AGENT_KIND, DELEGATION_KIND } from "../api/registry.ts";
import { type AuthorizeCode, authorize } from "../delegation/authorize.ts";
import { isTerminal, requestCancel } from "../delegation/delegation-object.ts";
import { delegationReader } from "../delegation/finished-summary.ts";
import type { TokenStore } from "../delegation/tokens.ts";
import type { WaiterRegistry } from "../delegation/waiters.ts";
import type { KubeClient } from "../runtime/client.ts";
import type { Informer } from "../runtime/informer.ts";
import { resourcePath } from "../runtime/resource.ts";
import { keyOf } from "../runtime/store.ts";
import { teamsInNamespace, teamsReferencing } from "../team/lookup.ts";
import { targetsFor, teamAgents } from "../team/topology.ts";
import { endDelegateSpan, startDelegateSpan } from "../tracing/spans.ts";
import type { CallerLimits } from "./caller-limits.ts";
import { parentOfRequest, runningDelegationsOf } from "./current-parent.ts";
import {
  type Caller,
  type DelegateOutcome,
  type DelegateRequest,
  type DelegationService,
  EndpointError,
} from "./service.ts";

const HTTP_STATUS: Record<AuthorizeCode, number> = {
  NotFound: 404,
  Forbidden: 403,
  MaxDepth: 403,
  Loop: 403,
  Ambiguous: 409,
};

export interface KubeDelegationServiceDeps {
  client: KubeClient;
  agents: Informer<KubernetesObject>;
  teams: Informer<KubernetesObject>;
  delegations: Informer<KubernetesObject>;
  tokens: TokenStore;
  waiters: WaiterRegistry;
  /** Per-caller rate and outstanding limits. */
  limits: CallerLimits;
}

function outcome(d: Delegation): DelegateOutcome {
  const s = d.status ?? {};
  return {
    delegation: d.metadata.name!,
    phase: s.phase ?? "Pending",
    reason: s.reason,
    message: s.message,
    agent: s.agent,
    pod: s.pod,
    attempts: s.attempts?.length,
    result: s.result,
    resultRef: s.resultRef,
    usage: s.usage as Record<string, number> | undefined,
  };
}

export class KubeDelegationService implements DelegationService {
  readonly #deps: KubeDelegationServiceDeps;

  constructor(deps: KubeDelegationServiceDeps) {
    this.#deps = deps;
    addTeamIndexes(deps.teams);
    addDelegationIndexes(deps.delegations);
  }

  /** The caller's Delegations that the cache does not show finished. */
  #outstanding(caller: Caller): number {
    const key = keyOf({ namespace: caller.namespace, name: caller.agent });
    return this.#deps.delegations.indexCount(BY_UNFINISHED_CALLER, key);
  }

  authenticate(token: string): Caller | undefined {
    return this.#deps.tokens.authenticate(token);
  }

  async delegate(
    caller: Caller,
    request: DelegateRequest,
    signal: AbortSignal,
    options: { wait?: boolean } = {},
  ): Promise<DelegateOutcome> {
    const { agents, delegations, teams, client } = this.#deps;
    const ns = caller.namespace;
    this.#deps.limits.admit(caller, this.#outstanding(caller));
    const parent = parentOfRequest(request.parent, caller.agent, runningDelegationsOf(delegations, ns, caller.agent));
    const verdict = authorize({
      caller: caller.agent,
      team: request.team,
      to: request.agent,
      capability: request.capability,
      parent,
      teams: teamsInNamespace(teams, ns),
      agent: (name) => AGENT_KIND.lookup(agents, ns, name),
      delegation: (name) => DELEGATION_KIND.lookup(delegations, ns, name),
      strictParent: true,
    });
    if (!verdict.ok) throw new EndpointError(HTTP_STATUS[verdict.code], verdict.code, verdict.message);
    const team = verdict.team?.metadata.name;
    const span = startDelegateSpan(caller, parent ? DELEGATION_KIND.lookup(delegations, ns, parent) : undefined);
    const creating = client.request<Delegation>("POST", resourcePath(DELEGATION_KIND.gvr, { namespace: ns }), {
      body: {
        apiVersion: DELEGATION_KIND.apiVersion,
        kind: DELEGATION_KIND.kind,
        metadata: {
          generateName: `${caller.agent}-`,
          // Admitted above: the controller takes this decision instead of admitting it again.
          annotations: { [ANNOTATION_ADMITTED]: verdict.candidates.join(","), ...span?.annotations },
          labels: {
            [LABEL_FROM]: caller.agent,
            ...(team && { [LABEL_TEAM]: team }),
            ...(request.agent && { [LABEL_AGENT]: request.agent }),
          },
        },
        spec: {
          ...(team && { team }),
          ...(request.agent && { to: request.agent }),
          ...(request.capability && { capability: request.capability }),
          from: caller.agent,
          task: request.task,
          ...(parent && { parent }),
          ...(request.timeoutSeconds && { timeoutSeconds: request.timeoutSeconds }),
        },
      },
      signal,
    });
    const created = await endDelegateSpan(span, creating);
    if (options.wait === false) return outcome(created);
    return outcome(await this.#deps.waiters.wait(ns, created.metadata.name!, signal));
  }

  async get(caller: Caller, name: string, options: { wait: boolean; signal: AbortSignal }): Promise<DelegateOutcome> {
    const d = await this.#own(caller, name, options.signal);
    if (!options.wait && !isTerminal(d)) return outcome(d);
    if (!options.wait) {
      // The cache keeps a summary of finished Delegations: the result comes from the API.
      const whole = await delegationReader(this.#deps.client)(caller.namespace, name, options.signal);
      return outcome(whole && whole.metadata.uid === d.metadata.uid ? whole : d);
    }
    return outcome(await this.#deps.waiters.wait(caller.namespace, name, options.signal));
  }

  async cancel(caller: Caller, name: string, options: { keep: boolean }): Promise<void> {
    const d = await this.#own(caller, name);
    if (options.keep) {
      await requestCancel(this.#deps.client, caller.namespace, name);
    } else {
      const path = resourcePath(DELEGATION_KIND.gvr, { namespace: caller.namespace, name });
      await this.#deps.client.request("DELETE", path, { body: { preconditions: { uid: d.metadata.uid } } });
    }
  }

  /**
   * A Delegation that the caller made; NotFound for anything else, so names do not leak. One just
   * created may not be in the cache yet: a miss is read from the API.
   */
  async #own(caller: Caller, name: string, signal?: AbortSignal): Promise<Delegation> {
    const d =
      DELEGATION_KIND.lookup(this.#deps.delegations, caller.namespace, name) ??
      (await delegationReader(this.#deps.client)(caller.namespace, name, signal));
    if (!d || d.spec.from !== caller.agent)
      throw new EndpointError(404, "NotFound", `no Delegation ${name} made by ${caller.agent}`);
    return d;
  }

  async listTeam(caller: Caller): Promise<unknown> {
    const { agents, teams } = this.#deps;
    const ns = caller.namespace;
    const mine = teamsReferencing(teams, ns, caller.agent);
    return {
      agent: caller.agent,
      teams: mine.map((team) => ({
        name: team.metadata.name,
        pattern: team.spec.pattern,
        lead: team.spec.lead,
        mayDelegateTo: targetsFor(team, caller.agent),
        members: teamAgents(team).map((name) => {
          const agent = AGENT_KIND.lookup(agents, ns, name);
          const role = team.spec.members?.find((m) => m.agent === name)?.role;
          return {
            name,
            ...(role && { role }),
            exists: agent !== undefined,
            description: agent?.spec.description,
            capabilities: agent?.spec.capabilities ?? [],
            readyReplicas: agent?.status?.readyReplicas ?? 0,
          };
        }),
      })),
    };
  }
}
