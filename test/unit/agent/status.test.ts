import { describe, expect, it } from "vitest";
import { agentStatus, type ObservedAgent, type WorkloadState } from "../../../src/agent/status.ts";

const rolledOut = (n: number): WorkloadState => ({
  generation: 2,
  observedGeneration: 2,
  replicas: n,
  readyReplicas: n,
  updatedReplicas: n,
  stalled: false,
});

function observed(patch: Partial<ObservedAgent> = {}): ObservedAgent {
  return {
    generation: 5,
    desiredReplicas: 2,
    workload: rolledOut(2),
    configProblem: undefined,
    configHash: "abc",
    selector: "clawcrew.io/agent=a",
    endpoint: "http://a.ns.svc.cluster.local:18789",
    ...patch,
  };
}

const summary = (status: ReturnType<typeof agentStatus>) =>
  Object.fromEntries(status.conditions!.map((c) => [c.type, `${c.status}/${c.reason}`]));

describe("agentStatus", () => {
  it("is Ready with every condition at the observed generation when the rollout is complete", () => {
    const status = agentStatus(undefined, observed());
    expect(summary(status)).toEqual({
      ConfigValid: "True/ConfigRendered",
      Progressing: "False/RolloutComplete",
      Degraded: "False/AsExpected",
      Ready: "True/AgentReady",
      Reconciling: "False/RolloutComplete",
      Stalled: "False/AsExpected",
    });
    expect(status.conditions!.every((c) => c.observedGeneration === 5)).toBe(true);
    expect(status).toMatchObject({
      observedGeneration: 5,
      replicas: 2,
      readyReplicas: 2,
      configHash: "abc",
      selector: "clawcrew.io/agent=a",
    });
  });

  it("is Ready with one of two replicas ready, and still Progressing", () => {
    const status = agentStatus(undefined, observed({ workload: { ...rolledOut(2), readyReplicas: 1 } }));
    expect(summary(status)).toMatchObject({ Ready: "True/AgentReady", Progressing: "True/RollingOut" });
  });

  it("is not Ready while a pod runs an old template (stale)", () => {
    const status = agentStatus(undefined, observed({ workload: { ...rolledOut(2), replicas: 3, updatedReplicas: 1 } }));
    expect(summary(status)).toMatchObject({ Ready: "False/RollingOut", Progressing: "True/RollingOut" });
  });

  it("is not Ready before the workload controller saw the new template", () => {
    const status = agentStatus(undefined, observed({ workload: { ...rolledOut(2), generation: 3 } }));
    expect(summary(status).Ready).toBe("False/RollingOut");
  });

  it("reports a config problem as ConfigValid=False, Degraded and not Ready, naming the problem", () => {
    const problem = {
      reason: "SoulConfigMapNotFound",
      message: "ConfigMap p named in spec.soulFrom.configMapKeyRef does not exist",
    };
    const status = agentStatus(undefined, observed({ configProblem: problem }));
    expect(summary(status)).toEqual({
      ConfigValid: "False/SoulConfigMapNotFound",
      Progressing: "False/ConfigInvalid",
      Degraded: "True/SoulConfigMapNotFound",
      Ready: "False/ConfigInvalid",
      Reconciling: "False/Stalled",
      Stalled: "True/SoulConfigMapNotFound",
    });
    expect(status.conditions!.find((c) => c.type === "ConfigValid")!.message).toBe(problem.message);
    expect(status.readyReplicas).toBe(2);
  });

  it("reports a stalled rollout as Degraded", () => {
    expect(summary(agentStatus(undefined, observed({ workload: { ...rolledOut(2), stalled: true } }))).Degraded).toBe(
      "True/ProgressDeadlineExceeded",
    );
  });

  it("says ScaledToZero at zero replicas and Creating before a workload exists", () => {
    expect(summary(agentStatus(undefined, observed({ desiredReplicas: 0, workload: rolledOut(0) }))).Ready).toBe(
      "False/ScaledToZero",
    );
    expect(summary(agentStatus(undefined, observed({ workload: undefined }))).Progressing).toBe("True/Creating");
  });

  it("keeps lastTransitionTime while a status holds, and moves it when the status flips", () => {
    const t0 = new Date("2026-01-01T00:00:00Z");
    const first = agentStatus(undefined, observed(), t0);
    const same = agentStatus(first, observed({ generation: 6 }), new Date("2026-01-01T01:00:00Z"));
    const ready = (s: typeof first) => s.conditions!.find((c) => c.type === "Ready")!;
    expect(ready(same).lastTransitionTime).toBe(ready(first).lastTransitionTime);
    expect(ready(same).observedGeneration).toBe(6);
    const flipped = agentStatus(
      same,
      observed({ workload: { ...rolledOut(2), readyReplicas: 0 } }),
      new Date("2026-01-01T02:00:00Z"),
    );
    expect(ready(flipped).lastTransitionTime).toBe("2026-01-01T02:00:00Z");
  });
});
