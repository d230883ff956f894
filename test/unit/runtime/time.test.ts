import { describe, expect, it } from "vitest";
import { shortDuration } from "../../../src/runtime/time.ts";

describe("shortDuration", () => {
  it.each([
    [0, "0s"],
    [-5000, "0s"],
    [1499, "1s"],
    [59_000, "59s"],
    [60_000, "1m0s"],
    [192_000, "3m12s"],
    [3_600_000, "1h0m"],
    [7_500_000, "2h5m"],
    [86_400_000, "1d0h"],
    [4 * 86_400_000 + 3 * 3_600_000 + 59_000, "4d3h"],
  ])("%d ms is %s", (ms, text) => {
    expect(shortDuration(ms)).toBe(text);
  });
});
