/**
 * The pure part of each controller, run end to end on one generated object as the reconcilers run it:
 * the kind's parse, then the desired and status functions. Each returns what it rendered, or throws
 * the typed error the reconciler turns into a condition.
 */

import type { V1NetworkPolicy } from "@kubernetes/client-node";
import { type AgentObjects, desiredObjects, type ResolvedInputs } from "../../src/agent/desired.ts";
import { ConfigProblemError } from "../../src/agent/inputs.ts";
import { agentStatus, type WorkloadState } from "../../src/agent/status.ts";
import type { Agent, AgentStatus } from "../../src/api/agent.ts";
import type { Delegation, DelegationStatus } from "../../src/api/delegation.ts";
import { AGENT_KIND, AGENT_TEAM_KIND, DELEGATION_KIND } from "../../src/api/registry.ts";
import type { AgentTeam, AgentTeamStatus } from "../../src/api/team.ts";
import { type AuthorizeResult, authorize } from "../../src/delegation/authorize.ts";
import { pipelineStep, stageChild, stageName } from "../../src/delegation/pipeline.ts";
import { effectivePolicy } from "../../src/delegation/policy.ts";
import {
  attemptFailed,
  attemptStarted,
  cancelled,
  failed,
  finished,
  interrupted,
  queued,
  running,
  stagesRunning,
} from "../../src/delegation/status.ts";
import { ConfigInputError, ConfigOverlayError } from "../../src/openclaw/config.ts";
import { CONFIG_FILE } from "../../src/openclaw/pod-layout.ts";
import { validateOpenClawConfig } from "../../src/openclaw/schema.ts";
import { WorkspaceError } from "../../src/openclaw/workspace.ts";
import { networkPolicies } from "../../src/team/desired.ts";
import { DELEGATION_MCP_SERVER, renderTeamFiles } from "../../src/team/files.ts";
import { teamStatus } from "../../src/team/status.ts";
import { teamAgents } from "../../src/team/topology.ts";
import { type LeadView, leadViewOf, teamDelegators } from "../../src/team/view.ts";

/** The errors the Agent reconciler reports as a ConfigValid=False condition. */
export const AGENT_CONFIG_ERRORS = [ConfigProblemError, ConfigOverlayError, ConfigInputError, WorkspaceError];

export const isAgentConfigError = (error: unknown) => AGENT_CONFIG_ERRORS.some((type) => error instanceof type);

export interface World {
  agents: readonly Agent[];
  teams: readonly AgentTeam[];
  delegations: readonly Delegation[];
}

const NOW = new Date("2026-12-02T09:00:00Z");
const URL = "http://clawcrew-delegation.clawcrew-system.svc:8082/mcp";

export interface RenderedAgent {
  objects: AgentObjects;
  view: LeadView | undefined;
  status: AgentStatus;
}

/** What reconcileAgent does without the API: inputs, desiredObjects, OpenClaw's schema, status. */
export function renderAgent(
  agent: Agent,
  world: World,
  soulFromConfigMap: string,
  workload?: WorkloadState,
): RenderedAgent {
  const name = agent.metadata.name!;
  const lookup = (n: string) => world.agents.find((a) => a.metadata.name === n);
  const view = leadViewOf(world.teams, name, lookup);
  const inputs: ResolvedInputs = {
    soul: agent.spec.soul ?? soulFromConfigMap,
    credentialKeys: ["API_KEY"],
    tokenVersion: "token-uid",
    ...(view && {
      team: view,
      mcpServers: { [DELEGATION_MCP_SERVER]: { url: URL, tokenEnv: "CLAWCREW_DELEGATION_TOKEN" } },
    }),
  };
  const objects = desiredObjects(agent, inputs);
  const validation = validateOpenClawConfig(JSON.parse(objects.configMap.data![CONFIG_FILE]!));
  if (!validation.ok) {
    throw new ConfigProblemError(
      "ConfigRejected",
      `OpenClaw rejects the configuration: ${validation.problems.join("; ")}`,
    );
  }
  const status = agentStatus(agent.status, observed(agent, objects.configHash, undefined, workload), NOW);
  return { objects, view, status };
}

/** The status the reconciler writes when rendering failed with `error`. */
export function agentProblemStatus(agent: Agent, error: Error & { reason?: string }): AgentStatus {
  const problem = {
    reason: error instanceof ConfigProblemError ? error.reason : "InvalidConfig",
    message: error.message,
  };
  return agentStatus(agent.status, observed(agent, undefined, problem), NOW);
}

function observed(
  agent: Agent,
  configHash: string | undefined,
  configProblem: { reason: string; message: string } | undefined,
  workload?: WorkloadState,
) {
  const name = agent.metadata.name!;
  return {
    generation: agent.metadata.generation ?? 0,
    desiredReplicas: agent.spec.replicas,
    workload,
    configProblem,
    configHash,
    selector: `clawcrew.io/agent=${name}`,
    endpoint: `http://${name}.${agent.metadata.namespace}.svc.cluster.local:18789`,
  };
}

export interface RenderedTeam {
  policies: V1NetworkPolicy[];
  status: AgentTeamStatus;
  views: LeadView[];
}

/** What the AgentTeam reconciler computes, and each delegator's roster files. */
export function renderTeam(team: AgentTeam, world: World, readiness: readonly boolean[]): RenderedTeam {
  const policies = networkPolicies(team, {
    operatorNamespace: "clawcrew-system",
    operatorPodLabels: { "app.kubernetes.io/name": "clawcrew" },
    delegationPort: 8082,
  });
  const members = teamAgents(team).map((name, i) => {
    const agent = world.agents.find((a) => a.metadata.name === name);
    const ready = agent !== undefined && (readiness[i % Math.max(1, readiness.length)] ?? false);
    return {
      agent: name,
      found: agent !== undefined,
      ready,
      readyReplicas: ready ? (agent?.spec.replicas ?? 0) : 0,
      desiredReplicas: agent?.spec.replicas ?? 0,
      ...(!ready && agent && { readyMessage: "0/1 replicas ready, 0 up to date" }),
    };
  });
  const status = teamStatus(team.status, { generation: team.metadata.generation ?? 0, members }, NOW);
  const views: LeadView[] = [];
  for (const delegator of teamDelegators(team)) {
    const view = leadViewOf([team], delegator, (n) => world.agents.find((a) => a.metadata.name === n));
    if (view) {
      renderTeamFiles(view);
      views.push(view);
    }
  }
  return { policies, status, views };
}

export interface RenderedDelegation {
  verdict: AuthorizeResult;
  statuses: DelegationStatus[];
  stageChildren: Delegation[];
}

/** One step of a Delegation's life, as the dispatcher takes them. */
export type Step =
  | { kind: "queued"; ahead: number }
  | { kind: "started"; pod: string }
  | { kind: "running" }
  | { kind: "failed"; message: string; maxAttempts: number; nearDeadline: boolean }
  | { kind: "interrupted" }
  | { kind: "finished"; ending: "Completed" | "TimedOut" | "AgentError" | "Cancelled"; result: string };

/**
 * Admission (both the controller's and the endpoint's strict rule), the effective policy, the status
 * after each step, and for a pipeline the stage children it would create.
 */
export function renderDelegation(d: Delegation, world: World, steps: readonly Step[]): RenderedDelegation {
  const byName = (n: string) => world.delegations.find((x) => x.metadata.name === n);
  const agent = (n: string) => world.agents.find((a) => a.metadata.name === n);
  const input = {
    caller: d.spec.from,
    team: d.spec.team,
    to: d.spec.to,
    capability: d.spec.capability,
    parent: d.spec.parent,
    teams: world.teams,
    agent,
    delegation: byName,
  };
  authorize({ ...input, strictParent: true });
  const verdict = authorize(input);
  const team = d.spec.team ? world.teams.find((t) => t.metadata.name === d.spec.team) : undefined;
  const policy = effectivePolicy(d, team, d.spec.to ? agent(d.spec.to) : undefined, NOW.getTime());
  const target = verdict.ok ? (verdict.candidates[0] ?? "") : "";

  const statuses: DelegationStatus[] = [];
  let status: DelegationStatus = d.status ?? {};
  let attempt = 0;
  let done = false;
  for (const step of steps) {
    if (done) break;
    const now = new Date(NOW.getTime() + statuses.length * 1000);
    switch (step.kind) {
      case "queued":
        status = queued(status, target, step.ahead);
        break;
      case "started": {
        const next = attemptStarted(status, {
          id: `a${++attempt}`,
          agent: target,
          pod: step.pod,
          podIP: "10.0.0.1",
          now,
        });
        if (!next) {
          status = finished(status, failed("AgentUnavailable", "out of attempts"), now, d.metadata.generation);
          done = true;
        } else status = next;
        break;
      }
      case "running":
        status = running(status);
        break;
      case "failed": {
        const outcome = attemptFailed(status, {
          attemptId: `a${attempt}`,
          attemptReason: "AgentError",
          message: step.message,
          terminalReason: "AgentError",
          maxAttempts: step.maxAttempts,
          now,
          nextTryAt: now.getTime() + 1000,
          deadline: step.nearDeadline ? now.getTime() : policy.deadline.getTime(),
        });
        status = outcome.status;
        if (!outcome.retry) {
          status = finished(status, outcome.ending, now, d.metadata.generation);
          done = true;
        }
        break;
      }
      case "interrupted":
        status = interrupted(status, now);
        break;
      case "finished": {
        const ending =
          step.ending === "Completed"
            ? { phase: "Succeeded" as const, reason: "Completed" as const }
            : step.ending === "Cancelled"
              ? cancelled()
              : failed(step.ending, step.result);
        status = finished(status, ending, now, d.metadata.generation, {
          result: step.result.slice(0, 16 * 1024),
          agent: target,
        });
        done = true;
        break;
      }
    }
    statuses.push(status);
  }

  const stageChildren: Delegation[] = [];
  if (verdict.ok && verdict.pipeline && team) {
    const children = new Map<number, Delegation>();
    for (let i = 0; i < (team.spec.stages ?? []).length; i++) {
      const action = pipelineStep(d, children, team);
      const running = stagesRunning(d.status, action.stages, NOW);
      if (running) statuses.push(running);
      if (action.kind !== "create") break;
      const child = stageChild(
        d,
        team,
        action.index,
        "input" in action && "text" in action.input ? action.input.text : "ref",
        {
          remainingSeconds: policy.timeoutMs / 1000,
          maxAttempts: policy.maxAttempts,
        },
      );
      const parsed = DELEGATION_KIND.parse(child);
      stageChildren.push(parsed);
      if (parsed.metadata.name !== stageName(d.metadata.name!, action.index)) throw new Error("stage name drifted");
      children.set(action.index, {
        ...parsed,
        metadata: { ...parsed.metadata, uid: `${parsed.metadata.name}-uid` },
        status: { phase: "Succeeded", reason: "Completed", result: `out ${i}` },
      });
    }
  }
  return { verdict, statuses, stageChildren };
}

/** Parses `raw` with the kind's parse, as the reconcilers do. */
export const parseAgent = (raw: unknown) => AGENT_KIND.parse(raw);
export const parseTeam = (raw: unknown) => AGENT_TEAM_KIND.parse(raw);
export const parseDelegation = (raw: unknown) => DELEGATION_KIND.parse(raw);
