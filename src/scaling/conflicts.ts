/** What is wrong with an Agent's spec.scaling that admission cannot see. Pure. */
import type { Agent } from "../api/agent.ts";

export const SCALING_FIELD_MANAGER = "clawcrew-autoscaler";
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

export interface ScalingProblem {
  reason: string;
  message: string;
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  fieldsV1?: { "f:spec"?: Record<string, unknown> };
}

/** Who writes spec.replicas from a manifest (server-side or client-side apply), if anyone. */
export function replicasInManifest(agent: Agent): string | undefined {
  const entries = (agent.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields ?? [];
  const applier = entries.find(
    (e) => e.operation === "Apply" && e.manager !== SCALING_FIELD_MANAGER && e.fieldsV1?.["f:spec"]?.["f:replicas"],
  );
  if (applier) return applier.manager ?? "a server-side apply";
  const lastApplied = agent.metadata.annotations?.[LAST_APPLIED];
  if (!lastApplied) return undefined;
  try {
    const spec = (JSON.parse(lastApplied) as { spec?: { replicas?: unknown } }).spec;
    return spec?.replicas !== undefined ? "kubectl apply" : undefined;
  } catch {
    return undefined;
  }
}

/** Undefined when spec.scaling can be honoured (or is not set). */
export function scalingProblem(agent: Agent, isLead: boolean): ScalingProblem | undefined {
  const scaling = agent.spec.scaling;
  if (!scaling) return undefined;
  if (isLead) {
    return {
      reason: "LeadNotScalable",
      message:
        "spec.scaling is ignored: this agent leads a team, and a lead's replicas are spec.replicas; scale the workers it delegates to",
    };
  }
  const writer = scaling.mode === "Operator" ? replicasInManifest(agent) : undefined;
  if (writer) {
    return {
      reason: "ReplicasConflict",
      message: `spec.replicas is set by ${writer} while spec.scaling.mode is Operator, so both write it: remove replicas from the manifest (see docs/gitops.md) or set spec.scaling.mode External`,
    };
  }
  return undefined;
}
