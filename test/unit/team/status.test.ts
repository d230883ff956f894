import { describe, expect, it } from "vitest";
import { findCondition } from "../../../src/runtime/conditions.ts";
import { type ObservedMember, teamStatus } from "../../../src/team/status.ts";

const T0 = new Date("2026-01-01T00:00:00Z");
const T1 = new Date("2026-01-01T00:05:00Z");

const ready = (agent: string, replicas = 1): ObservedMember => ({
  agent,
  found: true,
  ready: true,
  readyReplicas: replicas,
  desiredReplicas: replicas,
  readyMessage: `${replicas}/${replicas} replicas ready, ${replicas} up to date`,
});
const notReady = (agent: string, readyReplicas: number, desired: number): ObservedMember => ({
  agent,
  found: true,
  ready: false,
  readyReplicas,
  desiredReplicas: desired,
  readyMessage: `${readyReplicas}/${desired} replicas ready, 0 up to date`,
});
const missing = (agent: string): ObservedMember => ({
  agent,
  found: false,
  ready: false,
  readyReplicas: 0,
  desiredReplicas: 0,
});

describe("teamStatus", () => {
  it("is Ready when every member is, with observedGeneration on every condition", () => {
    const s = teamStatus(undefined, { generation: 4, members: [ready("ceo"), ready("researcher", 2)] }, T0);
    expect(s.readyMembers).toBe("2/2");
    expect(s.observedGeneration).toBe(4);
    expect(s.members).toEqual([
      { agent: "ceo", ready: true, readyReplicas: 1, message: "1/1 replicas ready" },
      { agent: "researcher", ready: true, readyReplicas: 2, message: "2/2 replicas ready" },
    ]);
    expect(findCondition(s.conditions, "Ready")).toMatchObject({ status: "True", reason: "AllMembersReady" });
    expect(findCondition(s.conditions, "Degraded")).toMatchObject({ status: "False", reason: "AsExpected" });
    for (const c of s.conditions!) {
      expect(c.observedGeneration).toBe(4);
      expect(c.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    }
  });

  it("names missing Agents in Degraded and keeps them in members", () => {
    const s = teamStatus(
      undefined,
      { generation: 1, members: [ready("ceo"), missing("coder"), missing("writer"), notReady("researcher", 0, 2)] },
      T0,
    );
    expect(s.readyMembers).toBe("1/4");
    expect(findCondition(s.conditions, "Degraded")).toMatchObject({
      status: "True",
      reason: "MembersMissing",
      message: "Agents not found: coder, writer; Not ready: researcher (0/2 replicas)",
    });
    expect(findCondition(s.conditions, "Ready")).toMatchObject({ status: "False", reason: "MembersMissing" });
    expect(s.members![1]).toEqual({ agent: "coder", ready: false, message: "Agent not found" });
    expect(s.members![3]).toMatchObject({ agent: "researcher", ready: false, readyReplicas: 0 });
    expect(s.members![3]!.message).toMatch(/^Not ready: 0\/2 replicas ready/);
  });

  it("reports members that exist but are not ready as MembersNotReady", () => {
    const s = teamStatus(undefined, { generation: 1, members: [ready("ceo"), notReady("researcher", 1, 2)] }, T0);
    expect(findCondition(s.conditions, "Degraded")).toMatchObject({
      status: "True",
      reason: "MembersNotReady",
      message: "Not ready: researcher (1/2 replicas)",
    });
    expect(findCondition(s.conditions, "Ready")).toMatchObject({ status: "False", reason: "MembersNotReady" });
  });

  it("heals: transition times move only when a status changes", () => {
    const before = teamStatus(undefined, { generation: 1, members: [ready("ceo"), missing("coder")] }, T0);
    const same = teamStatus(before, { generation: 1, members: [ready("ceo"), missing("coder")] }, T1);
    expect(same).toEqual(before);
    const healed = teamStatus(before, { generation: 2, members: [ready("ceo"), ready("coder")] }, T1);
    expect(findCondition(healed.conditions, "Ready")).toMatchObject({
      status: "True",
      lastTransitionTime: "2026-01-01T00:05:00Z",
      observedGeneration: 2,
    });
    expect(findCondition(healed.conditions, "Degraded")!.status).toBe("False");
  });

  it("reports a rejected NetworkPolicy as Degraded without touching Ready", () => {
    const s = teamStatus(
      undefined,
      { generation: 1, members: [ready("ceo")], networkProblem: "NetworkPolicy t-gateways rejected: bad" },
      T0,
    );
    expect(findCondition(s.conditions, "Ready")!.status).toBe("True");
    expect(findCondition(s.conditions, "Degraded")).toMatchObject({
      status: "True",
      reason: "NetworkPolicyRejected",
      message: "NetworkPolicy t-gateways rejected: bad",
    });
  });

  it("reports a NetworkPolicy name held by someone else as not Ready: the isolation is missing", () => {
    const conflict = "NetworkPolicy ns/t-gateways exists, not created by clawcrew: clawcrew does not take over objects";
    const s = teamStatus(undefined, { generation: 1, members: [ready("ceo")], networkConflict: conflict }, T0);
    expect(findCondition(s.conditions, "Ready")).toMatchObject({
      status: "False",
      reason: "NameConflict",
      message: conflict,
    });
    expect(findCondition(s.conditions, "Degraded")).toMatchObject({ status: "True", reason: "NameConflict" });
  });

  it("shortens long lists of names", () => {
    const members = Array.from({ length: 14 }, (_, i) => missing(`a${i}`));
    const s = teamStatus(undefined, { generation: 1, members }, T0);
    expect(findCondition(s.conditions, "Degraded")!.message).toBe(
      "Agents not found: a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 and 4 more",
    );
  });
});
