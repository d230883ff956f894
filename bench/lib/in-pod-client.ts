/**
 * The client of bench/real-node.ts's delegation phase. It runs inside a pod, so its requests take the
 * same path as an agent's (pod network, kube-proxy, CoreDNS, NetworkPolicy):
 *
 *   kubectl exec -i POD -- node --input-type=module-typescript - '<ClientConfig as JSON>'  < this file
 *
 * Only node's built-ins: the pod's image has node and nothing else. Prints a ClientReport as JSON.
 */

/** "chat": an OpenAI chat completion to a gateway; "delegate": POST /v1/delegations?wait=true to the operator. */
interface ClientTarget {
  name: string;
  kind: "chat" | "delegate";
  url: string;
  token: string;
  /** For "delegate": the team member to hand the task to. */
  agent?: string;
}

interface ClientConfig {
  warmup: number;
  calls: number;
  targets: ClientTarget[];
}

interface ClientReport {
  /** Milliseconds of each measured call, by target name. */
  samples: Record<string, number[]>;
  /** Calls that did not answer 200 with the task's echo, by target name. */
  failures: Record<string, string[]>;
}

// process.argv: [node, "-", config] when the source comes on stdin.
const config = JSON.parse(process.argv.at(-1) ?? "{}") as ClientConfig;

function request(target: ClientTarget, task: string, i: number): { body: unknown } {
  if (target.kind === "chat") {
    return {
      body: {
        model: "openclaw/default",
        user: `bench:${target.name}:${i}`,
        stream: false,
        messages: [{ role: "user", content: task }],
      },
    };
  }
  return { body: { agent: target.agent, task, timeoutSeconds: 120 } };
}

/** The answer text of a reply: a chat completion's first choice, or the Delegation's result. */
function answerOf(target: ClientTarget, reply: unknown): string {
  const r = reply as { choices?: { message?: { content?: string } }[]; result?: string };
  return (target.kind === "chat" ? r.choices?.[0]?.message?.content : r.result) ?? "";
}

async function call(target: ClientTarget, i: number): Promise<{ ms: number; failure?: string }> {
  const task = `bench call ${i} through ${target.name}`;
  const t0 = performance.now();
  try {
    const response = await fetch(target.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${target.token}` },
      body: JSON.stringify(request(target, task, i).body),
      signal: AbortSignal.timeout(150_000),
    });
    const reply = await response.json();
    const ms = performance.now() - t0;
    if (response.status !== 200)
      return { ms, failure: `status ${response.status}: ${JSON.stringify(reply).slice(0, 200)}` };
    const answer = answerOf(target, reply);
    if (!answer.includes(task)) return { ms, failure: `answer without the task: ${answer.slice(0, 200)}` };
    return { ms };
  } catch (error) {
    return { ms: performance.now() - t0, failure: String(error) };
  }
}

const report: ClientReport = { samples: {}, failures: {} };
for (const t of config.targets) {
  report.samples[t.name] = [];
  report.failures[t.name] = [];
}
for (let i = 0; i < config.warmup + config.calls; i++) {
  // Interleaved, with the order rotated each round, so drift on the shared machine hits every target alike.
  const order = config.targets.map((_, k) => config.targets[(i + k) % config.targets.length]!);
  for (const target of order) {
    const outcome = await call(target, i);
    if (outcome.failure) report.failures[target.name]!.push(outcome.failure);
    else if (i >= config.warmup) report.samples[target.name]!.push(outcome.ms);
  }
}
process.stdout.write(`${JSON.stringify(report)}\n`);
