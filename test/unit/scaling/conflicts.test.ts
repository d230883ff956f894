import { expect, it } from "vitest";
import type { Agent } from "../../../src/api/agent.ts";
import { scalingProblem } from "../../../src/scaling/conflicts.ts";

const agent = (metadata: Record<string, unknown>, mode: "Operator" | "External" = "Operator") =>
  ({
    metadata: { name: "w", namespace: "ns", ...metadata },
    spec: {
      replicas: 1,
      scaling: { minReplicas: 0, maxReplicas: 3, targetPendingPerReplica: 1, scaleDownDelaySeconds: 60, mode },
    },
  }) as unknown as Agent;

it("flags a lead with scaling, and replicas written by a manifest in mode Operator", () => {
  expect(scalingProblem(agent({}), true)?.reason).toBe("LeadNotScalable");
  expect(scalingProblem(agent({}), false)).toBeUndefined();
  const ssa = {
    managedFields: [{ manager: "argocd-controller", operation: "Apply", fieldsV1: { "f:spec": { "f:replicas": {} } } }],
  };
  expect(scalingProblem(agent(ssa), false)).toMatchObject({ reason: "ReplicasConflict" });
  expect(scalingProblem(agent(ssa), false)?.message).toContain("argocd-controller");
  const csa = { annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"spec":{"replicas":2}}' } };
  expect(scalingProblem(agent(csa), false)?.reason).toBe("ReplicasConflict");
  // The autoscaler's own writes, a manifest without replicas, and mode External are fine.
  const ours = {
    managedFields: [
      { manager: "clawcrew-autoscaler", operation: "Apply", fieldsV1: { "f:spec": { "f:replicas": {} } } },
    ],
  };
  expect(scalingProblem(agent(ours), false)).toBeUndefined();
  const noReplicas = { annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"spec":{}}' } };
  expect(scalingProblem(agent(noReplicas), false)).toBeUndefined();
  expect(scalingProblem(agent(ssa, "External"), false)).toBeUndefined();
});
