import { describe, expect, it } from "vitest";
import type { Delegation } from "../../../src/api/delegation.ts";
import type { AgentTeam } from "../../../src/api/team.ts";
import { parseDuration } from "../../../src/cli/args.ts";
import { describeLines } from "../../../src/cli/commands/describe.ts";
import { statusLines, teamView } from "../../../src/cli/commands/status.ts";
import { UsageError } from "../../../src/cli/errors.ts";
import { formatDuration, paint, table, useColor } from "../../../src/cli/output.ts";
import { exitCodeOf, outcome, progressLines } from "../../../src/cli/progress.ts";

const T0 = "2026-01-01T00:00:00Z";
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();

function delegation(status: Delegation["status"], spec: Partial<Delegation["spec"]> = {}): Delegation {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { name: "d1", namespace: "ns", creationTimestamp: T0 },
    spec: { team: "company", to: "researcher", task: "t", priority: 0, ...spec },
    ...(status && { status }),
  };
}

describe("formatDuration", () => {
  it.each([
    [850, "850ms"],
    [2_340, "2.3s"],
    [42_000, "42s"],
    [185_000, "3m05s"],
    [7_800_000, "2h10m"],
    [356_400_000, "4d3h"],
    [-1, "-"],
  ])("%d ms is %s", (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe("parseDuration", () => {
  it("reads Go-style durations and bare seconds", () => {
    expect(parseDuration("--timeout", "1h30m")).toBe(5_400_000);
    expect(parseDuration("--timeout", "500ms")).toBe(500);
    expect(parseDuration("--timeout", "90")).toBe(90_000);
  });
  it("names the flag when the text is not a duration", () => {
    expect(() => parseDuration("--timeout", "5 min")).toThrow(UsageError);
    expect(() => parseDuration("--timeout", "5x")).toThrow('--timeout: "5x" is not a duration');
  });
});

describe("colour", () => {
  it("is on only on a TTY, and off with NO_COLOR or TERM=dumb", () => {
    expect(useColor(true, {})).toBe(true);
    expect(useColor(false, {})).toBe(false);
    expect(useColor(true, { NO_COLOR: "1" })).toBe(false);
    expect(useColor(true, { TERM: "dumb" })).toBe(false);
    expect(paint(false, "red", "x")).toBe("x");
    expect(paint(true, "red", "x")).toBe("\x1b[31mx\x1b[0m");
  });
  it("does not count colour codes in a table's column widths", () => {
    expect(
      table(
        ["A", "B"],
        [
          [paint(true, "green", "yes"), "1"],
          ["no", "2"],
        ],
      ),
    ).toEqual(["A     B", `${paint(true, "green", "yes")}   1`, "no    2"]);
  });
});

describe("progress and outcome", () => {
  const running = delegation({
    phase: "Running",
    startTime: at(1),
    attempts: [{ number: 1, agent: "researcher", pod: "researcher-0", startTime: at(1), outcome: "Running" }],
  });
  it("says queued, then each attempt and its pod, then a retry and the end", () => {
    expect(progressLines(undefined, delegation({ phase: "Pending" }))).toEqual(["queued"]);
    expect(progressLines(delegation({ phase: "Pending" }), running)).toEqual([
      "attempt 1: running on agent researcher, pod researcher-0",
    ]);
    const retried = delegation({
      phase: "Running",
      startTime: at(1),
      attempts: [
        { ...running.status!.attempts![0]!, outcome: "Failed", reason: "PodGone", completionTime: at(2) },
        { number: 2, agent: "researcher", pod: "researcher-1", startTime: at(3), outcome: "Running" },
      ],
    });
    expect(progressLines(running, retried)).toEqual([
      "attempt 1: Failed (PodGone); retried",
      "attempt 2: running on agent researcher, pod researcher-1",
    ]);
    const done = delegation({
      ...retried.status,
      phase: "Failed",
      reason: "AgentError",
      message: "HTTP 400",
      completionTime: at(5),
    });
    expect(progressLines(retried, done)).toEqual(["Failed (AgentError) after 4.0s: HTTP 400"]);
    expect(progressLines(done, done)).toEqual([]);
  });
  it("maps the outcome to the exit code", () => {
    expect(exitCodeOf(delegation({ phase: "Succeeded" }))).toBe(0);
    expect(exitCodeOf(delegation({ phase: "Failed", reason: "Cancelled" }))).toBe(1);
    expect(exitCodeOf(delegation({ phase: "Failed", reason: "TimedOut" }))).toBe(124);
    expect(outcome(delegation({ phase: "Failed", reason: "Cancelled" }))).toBe("Cancelled");
    expect(outcome(delegation(undefined))).toBe("Pending");
  });
});

describe("status and describe text", () => {
  const team: AgentTeam = {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name: "company" },
    spec: { pattern: "hubAndSpoke", lead: "ceo", members: [{ agent: "researcher", role: "research" }] },
    status: {
      readyMembers: "1/2",
      members: [
        { agent: "ceo", ready: true },
        { agent: "researcher", ready: false },
      ],
    },
  } as AgentTeam;
  it("counts queued and in-flight delegations per member, and lists the newest first", () => {
    const finished = delegation({ phase: "Succeeded", agent: "researcher", startTime: at(0), completionTime: at(3) });
    const queued = { ...delegation({ phase: "Pending" }), metadata: { name: "d2", creationTimestamp: at(10) } };
    const view = teamView(team, [], [finished, queued], 5, Date.parse(at(20)));
    expect(view.members).toEqual([
      { agent: "ceo", role: "lead", ready: true, readyReplicas: 0, replicas: 0, queued: 0, inFlight: 0 },
      { agent: "researcher", role: "research", ready: false, readyReplicas: 0, replicas: 0, queued: 1, inFlight: 0 },
    ]);
    expect(statusLines([view], false, Date.parse(at(20)))).toEqual([
      "Team company  pattern hubAndSpoke  lead ceo  ready 1/2",
      "  MEMBER       ROLE       READY   REPLICAS   QUEUED   IN-FLIGHT",
      "  ceo          lead       yes     0/0        0        0",
      "  researcher   research   no      0/0        1        0",
      "",
      "  DELEGATION   AGENT        OUTCOME     DURATION   AGE",
      "  d2           researcher   Pending     -          10s",
      "  d1           researcher   Succeeded   3.0s       20s",
    ]);
  });
  it("describes the parent chain and the pipeline stages", () => {
    const d = delegation(
      {
        phase: "Running",
        startTime: at(2),
        stages: [{ index: 0, agent: "researcher", phase: "Succeeded", delegation: "d1-0" }],
      },
      { parent: "p1" },
    );
    const lines = describeLines(d, [{ name: "p1" }], false, Date.parse(at(4)));
    expect(lines).toContain("Queued for: 2.0s");
    expect(lines).toContain("  ↑ p1  (gone)");
    expect(lines).toContain("  none yet");
    expect(lines).toContain("  0       researcher   Succeeded   d1-0");
  });
});
