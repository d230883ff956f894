import { describe, expect, it } from "vitest";
import { CallerLimits, TooManyRequestsError } from "../../../src/delegation-endpoint/caller-limits.ts";

const lead = { namespace: "team-a", agent: "lead" };
const other = { namespace: "team-b", agent: "lead" };

describe("CallerLimits", () => {
  it("lets a caller create its burst at once, then refuses with the seconds until a token is back", () => {
    let now = 0;
    const limits = new CallerLimits({ ratePerSecond: 0.5, burst: 3, maxOutstanding: 100, now: () => now });
    for (let i = 0; i < 3; i++) limits.admit(lead, 0);
    const refused = (() => {
      try {
        limits.admit(lead, 0);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect(refused).toMatchObject({ status: 429, code: "TooManyRequests", retryAfterSeconds: 2 });
    expect((refused as Error).message).toContain("team-a/lead");
    // Another namespace's agent of the same name has its own bucket.
    limits.admit(other, 0);
    now = 2_000;
    limits.admit(lead, 0);
    expect(() => limits.admit(lead, 0)).toThrow(TooManyRequestsError);
  });

  it("refuses a caller at its cap of unfinished Delegations, without taking a token", () => {
    let now = 0;
    const limits = new CallerLimits({ ratePerSecond: 1, burst: 1, maxOutstanding: 2, now: () => now });
    expect(() => limits.admit(lead, 2)).toThrow(/2 unfinished Delegations/);
    limits.admit(lead, 1); // the token was still there
    now = 0;
    expect(() => limits.admit(lead, 1)).toThrow(/faster than 1\/s/);
  });
});
