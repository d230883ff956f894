/** What changed between two versions of a Delegation, as the progress lines `delegate --wait` prints. */
import type { Delegation } from "../api/delegation.ts";
import { isTerminal as isFinished } from "../delegation/delegation-object.ts";
import { EXIT_FAILED, EXIT_SUCCEEDED, EXIT_TIMEOUT } from "./errors.ts";
import { createdAt, durationOf } from "./output.ts";

export { isTerminal as isFinished } from "../delegation/delegation-object.ts";

/** `Succeeded`, `Failed (AgentError)`, `Cancelled`, `TimedOut`: the phase with the reason that matters. */
export function outcome(d: Delegation): string {
  const { phase = "Pending", reason } = d.status ?? {};
  if (phase !== "Failed" || !reason) return phase;
  return reason === "Cancelled" || reason === "TimedOut" ? reason : `Failed (${reason})`;
}

export function exitCodeOf(d: Delegation): number {
  if (d.status?.phase === "Succeeded") return EXIT_SUCCEEDED;
  return d.status?.reason === "TimedOut" ? EXIT_TIMEOUT : EXIT_FAILED;
}

/** Lines for what `next` shows that `previous` did not: queued, each attempt and its pod, retries, the end. */
export function progressLines(previous: Delegation | undefined, next: Delegation): string[] {
  const lines: string[] = [];
  const before = previous?.status?.attempts ?? [];
  const attempts = next.status?.attempts ?? [];
  if (!previous && !attempts.length && !isFinished(next)) lines.push("queued");
  for (const attempt of attempts) {
    const old = before.find((a) => a.number === attempt.number);
    if (!old) {
      const where = [attempt.agent && `agent ${attempt.agent}`, attempt.pod && `pod ${attempt.pod}`].filter(Boolean);
      lines.push(`attempt ${attempt.number}: running${where.length ? ` on ${where.join(", ")}` : ""}`);
    }
    const ended = attempt.outcome !== "Running" && old?.outcome !== attempt.outcome;
    // The last attempt's end is the Delegation's end, printed below; earlier ones were retried.
    if (ended && attempt !== attempts.at(-1)) {
      const why = [attempt.reason, attempt.message].filter(Boolean).join(": ");
      lines.push(`attempt ${attempt.number}: ${attempt.outcome}${why ? ` (${why})` : ""}; retried`);
    } else if (ended && !isFinished(next)) {
      lines.push(`attempt ${attempt.number}: ${attempt.outcome}${attempt.reason ? ` (${attempt.reason})` : ""}`);
    }
  }
  if (isFinished(next) && !(previous && isFinished(previous))) {
    const took = durationOf(next.status?.startTime ?? createdAt(next.metadata), next.status?.completionTime);
    const message = next.status?.phase === "Failed" && next.status.message ? `: ${next.status.message}` : "";
    lines.push(`${outcome(next)} after ${took}${message}`);
  }
  return lines;
}
