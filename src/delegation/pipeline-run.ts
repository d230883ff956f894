/**
 * Runs a pipeline parent: creates each stage's child when the one before succeeded, keeps the
 * parent's stages[] current, and finishes the parent with the last stage's result. `pipelineStep`
 * (pipeline.ts) decides; this module reads what it needs and writes what it decided.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Delegation, DelegationStatus } from "../api/delegation.ts";
import { MAX_TASK_BYTES } from "../api/delegation.ts";
import { BY_PARENT } from "../api/indexes.ts";
import { DELEGATION_KIND } from "../api/registry.ts";
import type { AgentTeam } from "../api/team.ts";
import type { KubeClient } from "../runtime/client.ts";
import { isAlreadyExists } from "../runtime/errors.ts";
import type { Informer } from "../runtime/informer.ts";
import { resourcePath } from "../runtime/resource.ts";
import { keyOf } from "../runtime/store.ts";
import type { Clock } from "./clock.ts";
import { isTerminal } from "./delegation-object.ts";
import type { Finish } from "./finish.ts";
import type { DelegationReader } from "./finished-summary.ts";
import { pipelineStep, resultSource, stageChild, stageChildren } from "./pipeline.ts";
import { effectivePolicy, timedOut } from "./policy.ts";
import { byteLength, type ResultStore } from "./result.ts";
import { failed, stagesRunning } from "./status.ts";
import type { StatusWriter } from "./status-writer.ts";

export interface PipelineDeps {
  client: KubeClient;
  delegations: Informer<KubernetesObject>;
  readDelegation: DelegationReader;
  writer: StatusWriter;
  results: ResultStore;
  finish: Finish;
  clock: Clock;
}

/** Result of one pass: look again after this long (a cache that has not caught up yet). */
type Again = { requeueAfter: number } | undefined;
const CACHE_CATCH_UP_MS = 500;

export async function runPipeline(deps: PipelineDeps, d: Delegation, team: AgentTeam): Promise<Again> {
  const ns = d.metadata.namespace ?? "";
  const children = stageChildren(d, team, childrenOf(deps.delegations, d));
  let action = pipelineStep(d, children, team);
  const source = resultSource(action);
  if (source !== undefined) {
    // The cache keeps a summary of finished Delegations: read the result's stage in full.
    const summary = children.get(source)!;
    const whole = await deps.readDelegation(ns, summary.metadata.name!);
    if (!whole || whole.metadata.uid !== summary.metadata.uid) return { requeueAfter: CACHE_CATCH_UP_MS };
    children.set(source, whole);
    action = pipelineStep(d, children, team);
  }
  const { stages } = action;
  switch (action.kind) {
    case "succeed":
      await deps.finish(
        d,
        { phase: "Succeeded", reason: "Completed", message: `all ${stages.length} stages succeeded` },
        {
          stages,
          ...(action.result !== undefined && { result: action.result }),
          ...(action.resultRef && { resultRef: action.resultRef }),
          ...(action.usage && { usage: action.usage }),
        },
      );
      return undefined;
    case "fail": {
      if (action.reason === "Cancelled") {
        // The cache may not show a child we just created: confirm with the API before failing.
        const name = stages.find((s) => !children.has(s.index) && s.delegation)?.delegation;
        if (name && (await deps.readDelegation(ns, name))) return { requeueAfter: CACHE_CATCH_UP_MS };
      }
      await deps.finish(d, failed(action.reason, action.message), { stages });
      return undefined;
    }
    case "wait":
      await writeStages(deps, d, stages);
      return undefined;
    case "create": {
      const task = "text" in action.input ? action.input.text : await deps.results.read(ns, action.input.ref);
      const previous = action.index - 1;
      if (task === undefined) {
        await deps.finish(d, failed("AgentError", `stage ${previous}: its result ConfigMap is gone`), { stages });
        return undefined;
      }
      if (byteLength(task) > MAX_TASK_BYTES) {
        const message = `stage ${previous} answered ${byteLength(task)} bytes; a task may have at most ${MAX_TASK_BYTES}`;
        await deps.finish(d, failed("StageOutputTooLarge", message), { stages });
        return undefined;
      }
      const policy = effectivePolicy(d, team, undefined, deps.clock.now());
      const remainingMs = policy.deadline.getTime() - deps.clock.now();
      if (remainingMs <= 0) {
        await deps.finish(d, failed("TimedOut", timedOut(policy)), { stages });
        return undefined;
      }
      const child = stageChild(d, team, action.index, task.trim() ? task : "(the previous stage answered nothing)", {
        remainingSeconds: remainingMs / 1000,
        maxAttempts: policy.maxAttempts,
      });
      try {
        await deps.client.request("POST", resourcePath(DELEGATION_KIND.gvr, { namespace: ns }), { body: child });
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
      const name = child.metadata.name!;
      await writeStages(
        deps,
        d,
        stages.map((s) => (s.index === action.index ? { ...s, delegation: name, phase: "Pending" as const } : s)),
      );
      return undefined;
    }
  }
}

/** The Delegations that name `parent` as theirs (stageChildren checks which are its stages). */
function childrenOf(delegations: Informer<KubernetesObject>, parent: Delegation): Delegation[] {
  const key = keyOf({ namespace: parent.metadata.namespace ?? "", name: parent.metadata.name ?? "" });
  return delegations.byIndex(BY_PARENT, key).flatMap((o) => DELEGATION_KIND.checkedCached(o) ?? []);
}

async function writeStages(deps: PipelineDeps, d: Delegation, stages: DelegationStatus["stages"]): Promise<void> {
  const next = stagesRunning(d.status, stages, new Date(deps.clock.now()));
  if (next) await deps.writer.commit(d, next, (fresh) => !isTerminal(fresh));
}
