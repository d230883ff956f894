import { expect, it } from "vitest";
import { KubeApiError } from "../../../src/runtime/errors.ts";
import { planRemoval, writeDeletionCosts } from "../../../src/scaling/scale-down.ts";

it("chooses idle pods to remove and gives busy ones a higher deletion cost", () => {
  const pods = [
    { pod: "a", inFlight: 2 },
    { pod: "b", inFlight: 0 },
    { pod: "c", inFlight: 0 },
    { pod: "d", inFlight: 1 },
  ];
  const plan = planRemoval(pods, 1);
  expect(plan.victims).toEqual(["b"]);
  expect(Object.fromEntries(plan.costs)).toEqual({ a: 3, b: 0, c: 1, d: 2 });
  // Never a busy pod, however many are asked for.
  expect(planRemoval(pods, 4).victims).toEqual(["b", "c"]);
});

it("skips pods already gone or replaced, and fails on any other error", async () => {
  const fail = (statusCode: number, reason: string) => async (_verb: string, path: string) => {
    if (path.endsWith("/gone")) throw new KubeApiError({ statusCode, reason, message: "no" });
    return {};
  };
  const pods = [
    { pod: "gone", uid: "u1", inFlight: 0 },
    { pod: "here", uid: "u2", inFlight: 1 },
  ];
  const costs = new Map([
    ["gone", 0],
    ["here", 2],
  ]);
  await writeDeletionCosts({ request: fail(404, "NotFound") } as never, "ns", pods, costs);
  await writeDeletionCosts({ request: fail(409, "Conflict") } as never, "ns", pods, costs);
  await expect(writeDeletionCosts({ request: fail(403, "Forbidden") } as never, "ns", pods, costs)).rejects.toThrow();
});
