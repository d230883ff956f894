import { expect, it } from "vitest";
import { planRemoval } from "../../../src/scaling/scale-down.ts";

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
