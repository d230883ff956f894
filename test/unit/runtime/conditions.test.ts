import { describe, expect, it } from "vitest";
import type { Condition } from "../../../src/api/meta.ts";
import { findCondition, setCondition } from "../../../src/runtime/conditions.ts";

const T0 = new Date("2026-01-01T00:00:00.123Z");
const T1 = new Date("2026-01-01T00:05:00.000Z");

const ready = (status: Condition["status"], reason = "Ready", message = "all good", observedGeneration = 1) => ({
  type: "Ready",
  status,
  reason,
  message,
  observedGeneration,
});

describe("setCondition", () => {
  it("appends a new condition with lastTransitionTime = now (RFC 3339, seconds)", () => {
    const list = setCondition(undefined, ready("True"), T0);
    expect(list).toEqual([{ ...ready("True"), lastTransitionTime: "2026-01-01T00:00:00Z" }]);
  });

  it("keeps lastTransitionTime when the status does not change, but updates reason, message and observedGeneration", () => {
    const before = setCondition([], ready("False", "Pending", "waiting", 1), T0);
    const after = setCondition(before, ready("False", "Progressing", "rolling out", 2), T1);
    expect(after).toEqual([
      {
        type: "Ready",
        status: "False",
        reason: "Progressing",
        message: "rolling out",
        observedGeneration: 2,
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ]);
  });

  it("moves lastTransitionTime when the status changes", () => {
    const before = setCondition([], ready("False"), T0);
    const after = setCondition(before, ready("True"), T1);
    expect(findCondition(after, "Ready")?.lastTransitionTime).toBe("2026-01-01T00:05:00Z");
    expect(findCondition(after, "Ready")?.status).toBe("True");
  });

  it("uses an explicit lastTransitionTime only on a transition", () => {
    const first = setCondition([], { ...ready("True"), lastTransitionTime: "2025-12-31T23:00:00Z" }, T0);
    expect(first[0]?.lastTransitionTime).toBe("2025-12-31T23:00:00Z");
    const same = setCondition(first, { ...ready("True"), lastTransitionTime: "2026-02-01T00:00:00Z" }, T1);
    expect(same[0]?.lastTransitionTime).toBe("2025-12-31T23:00:00Z");
  });

  it("replaces in place, keeps other conditions and order, and does not mutate its input", () => {
    const original = setCondition(setCondition([], ready("True"), T0), { ...ready("False"), type: "Degraded" }, T0);
    const frozen = structuredClone(original);
    const updated = setCondition(original, ready("False", "Broken", "down", 3), T1);
    expect(original).toEqual(frozen);
    expect(updated.map((c) => c.type)).toEqual(["Ready", "Degraded"]);
    expect(updated[1]).toEqual(original[1]);
  });

  it("drops observedGeneration when the update has none", () => {
    const { observedGeneration: _, ...withoutGeneration } = ready("True");
    const list = setCondition(setCondition([], ready("True"), T0), withoutGeneration, T1);
    expect(list[0]).not.toHaveProperty("observedGeneration");
  });
});

describe("findCondition", () => {
  const list = setCondition(setCondition([], ready("True"), T0), { ...ready("False"), type: "Degraded" }, T0);

  it("looks up by type", () => {
    expect(findCondition(list, "Degraded")?.status).toBe("False");
    expect(findCondition(list, "Missing")).toBeUndefined();
    expect(findCondition(undefined, "Ready")).toBeUndefined();
  });
});
