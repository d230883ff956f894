/** `clawcrew delegate`: creates a Delegation, and with --wait follows it and prints its result. */
import { readFileSync } from "node:fs";
import type { Delegation, DelegationSpec } from "../../api/delegation.ts";
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  OUTPUT_HELP,
  OUTPUT_OPTION,
  outputFormat,
  parse,
  parseDuration,
} from "../args.ts";
import type { Command } from "../command.ts";
import { resultOf, watchUntilFinished } from "../delegations.ts";
import { EXIT_SUCCEEDED, UsageError, WaitTimeoutError } from "../errors.ts";
import { connect, GVR } from "../kube.ts";
import { paint, phaseStyle, printData } from "../output.ts";
import { exitCodeOf, progressLines } from "../progress.ts";

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...OUTPUT_OPTION,
  team: { type: "string" },
  to: { type: "string" },
  capability: { type: "string" },
  "context-file": { type: "string" },
  wait: { type: "boolean", short: "w" },
  timeout: { type: "string" },
} as const;

/** Longer than the task's own timeout: --wait gives the operator this long to record that it timed out. */
const WAIT_GRACE_MS = 30_000;

export const delegate: Command = {
  name: "delegate",
  summary: "send a task to an agent or a team and, with --wait, print the result",
  help: `Usage: clawcrew delegate (--team T [--to AGENT | --capability C] | --to AGENT) "task" [flags]

Creates a Delegation. Without --wait it prints the Delegation's name; with --wait it prints progress on
stderr (queued, each attempt and its pod, retries) and the result on stdout.

Flags:
      --team T             the AgentTeam that routes and authorises the task; alone, the team's entry
                           takes it (the lead, a pipeline's first stage and then every stage, a swarm's member)
      --to AGENT           the agent that does the task
      --capability C       a team member that lists this capability (needs --team)
      --context-file F     earlier messages: a JSON array of {role, content}, or plain text (one user message)
  -w, --wait               wait for the outcome and print the result
      --timeout D          how long the task may take (spec.timeoutSeconds), e.g. 90s, 5m
${OUTPUT_HELP} (the Delegation, with --wait once finished)
${CONNECTION_HELP}

Exit codes: 0 succeeded (or created, without --wait), 1 failed or cancelled, 2 bad arguments,
124 timed out (the task's --timeout, or the wait for the operator to record it).`,

  async run(argv, out) {
    const { values, positionals } = parse("delegate", argv, OPTIONS);
    const format = outputFormat("delegate", values.output);
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length
          ? `delegate: takes one task, got ${positionals.length} arguments (quote the task)`
          : "delegate: missing the task",
      );
    }
    const spec = specFrom(values, positionals[0]!);
    const cluster = connect(values);
    const created = await cluster.client.request<Delegation>("POST", cluster.path(GVR.delegations), {
      body: {
        apiVersion: "clawcrew.io/v1alpha1",
        kind: "Delegation",
        metadata: { generateName: `${spec.to ?? spec.team ?? "task"}-`.slice(0, 50) },
        spec,
      },
    });
    const name = created.metadata.name!;
    if (!values.wait) {
      if (format !== "text") printData(out, format, created);
      else out.line(`delegation.clawcrew.io/${name} created`);
      return EXIT_SUCCEEDED;
    }
    out.note(`delegation.clawcrew.io/${name} created`);
    const abort = new AbortController();
    const waitMs = spec.timeoutSeconds ? spec.timeoutSeconds * 1000 + WAIT_GRACE_MS : undefined;
    const timer = waitMs
      ? setTimeout(() => abort.abort(new WaitTimeoutError(`delegate: gave up waiting for ${name}`)), waitMs)
      : undefined;
    let previous: Delegation | undefined;
    let finished: Delegation;
    try {
      finished = await watchUntilFinished(
        cluster,
        name,
        (d) => {
          for (const line of progressLines(previous, d)) out.note(`${name}: ${line}`);
          previous = d;
        },
        abort.signal,
      );
    } finally {
      clearTimeout(timer);
    }
    if (format !== "text") {
      printData(out, format, { ...finished, result: await resultOf(cluster, finished) });
      return exitCodeOf(finished);
    }
    const result = await resultOf(cluster, finished);
    if (result !== undefined) out.line(result);
    else out.note(paint(out.color, phaseStyle(finished.status?.phase), "(no result)"));
    return exitCodeOf(finished);
  },
};

function specFrom(values: Record<string, string | boolean | undefined>, task: string): DelegationSpec {
  const { team, to, capability } = values as Record<string, string | undefined>;
  if (!task.trim()) throw new UsageError("delegate: the task is blank");
  if (to && capability) throw new UsageError("delegate: --to and --capability are mutually exclusive");
  if (!to && !team) throw new UsageError("delegate: --team or --to is required");
  if (capability && !team) throw new UsageError("delegate: --capability needs --team");
  const spec: DelegationSpec = { task, priority: 0 };
  if (team) spec.team = team;
  if (to) spec.to = to;
  if (capability) spec.capability = capability;
  const contextFile = values["context-file"] as string | undefined;
  if (contextFile) spec.context = readContext(contextFile);
  if (values.timeout !== undefined) {
    const ms = parseDuration("--timeout", values.timeout as string);
    if (ms < 1000 || ms > 86_400_000) throw new UsageError("--timeout: must be between 1s and 24h");
    spec.timeoutSeconds = Math.ceil(ms / 1000);
  }
  return spec;
}

type ContextMessages = NonNullable<DelegationSpec["context"]>;

/** A JSON array of {role, content}; any other text is one user message. */
function readContext(file: string): ContextMessages {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--context-file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (!text.trimStart().startsWith("[")) return [{ role: "user", content: text }];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--context-file: ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const roles = new Set(["system", "user", "assistant"]);
  const messages = parsed as ContextMessages;
  messages.forEach((m, i) => {
    if (typeof m !== "object" || m === null || !roles.has(m.role) || typeof m.content !== "string") {
      throw new UsageError(`--context-file: ${file}[${i}] must be {"role": "system|user|assistant", "content": "..."}`);
    }
  });
  return messages;
}
