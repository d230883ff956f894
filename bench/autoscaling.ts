/**
 * Benchmark: how fast the swarm autoscaler reacts to a burst of Delegations, how long until the new
 * pods are ready, and whether a scale-in disturbs any delegation in flight. The operator runs
 * in-process (as test/integration/autoscaling.test.ts does) on the local control plane: kwok runs
 * the pods, kube-controller-manager's ReplicaSets add and remove them, and the dispatcher reaches a
 * stub gateway on 127.0.0.1 through the EndpointTracker's `resolve` (kwok pod IPs are never dialled).
 *
 *   hack/node24.sh node bench/autoscaling.ts [--rounds 10] [--burst 8] [--timeout-seconds 120] [--keep-logs]
 *
 * Per round: the swarm is at 1 replica, `--burst` held Delegations are created at once (t0), and the
 * table reports t0 → the Agent's spec.replicas reaching the formula's value, → the Deployment's, → all
 * its pods ready. Baseline, same run: `kubectl scale`-equivalent (a PATCH of the scale subresource of
 * an Agent without scaling) → its Deployment's spec.replicas, i.e. what the Agent controller alone
 * adds. Anchors: the HPA's 15 s sync period and KEDA's 30 s default polling interval. Then all but 2
 * Delegations are released; after the scale-down delay the swarm shrinks to 2 and the 2 busy ones
 * are released: "disturbed" counts Delegations of the round with more than one attempt or not
 * Succeeded (target 0).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import { kubectlOk } from "../harness/index.ts";
import type { Delegation } from "../src/api/delegation.ts";
import { Operator } from "../src/operator/operator.ts";
import { KubeClient } from "../src/runtime/client.ts";
import { EventRecorder } from "../src/runtime/events.ts";
import { createLogger } from "../src/runtime/log.ts";
import { noopControllerMetrics } from "../src/runtime/metrics.ts";
import { resourcePath } from "../src/runtime/resource.ts";
import { startBenchCluster } from "./lib/cluster.ts";
import { exitOnHelp, intOption } from "./lib/options.ts";
import { runBench } from "./lib/run.ts";
import { ms, summarize, table } from "./lib/stats.ts";
import { TimedWatch } from "./lib/watch.ts";

const USAGE =
  "usage: hack/node24.sh node bench/autoscaling.ts [--rounds N] [--burst B] [--timeout-seconds T] [--keep-logs]";
const NAMESPACE = "bench-autoscale";
const SWARM = "swarm";
const BASELINE = "fixed";
const MAX_REPLICAS = 8;
const SCALE_DOWN_DELAY_S = 2;
const BUSY_AT_SCALE_IN = 2;
const AGENTS = { group: "clawcrew.io", version: "v1alpha1", plural: "agents" };
const DELEGATIONS = { group: "clawcrew.io", version: "v1alpha1", plural: "delegations" };
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

interface Options {
  rounds: number;
  burst: number;
  timeoutMs: number;
  keepLogs: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string" },
      burst: { type: "string" },
      "timeout-seconds": { type: "string" },
      "keep-logs": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  exitOnHelp(values.help, USAGE);
  return {
    rounds: intOption("--rounds", values.rounds ?? "10", 1, 1000),
    burst: intOption("--burst", values.burst ?? "8", 3, 2 * MAX_REPLICAS),
    timeoutMs: intOption("--timeout-seconds", values["timeout-seconds"] ?? "120", 5, 3600) * 1000,
    keepLogs: values["keep-logs"] ?? false,
  };
}

/** The stub gateway: tasks `hold:<key>` wait for release(key); the rest answer at once. */
function stubGateway() {
  const held = new Map<string, () => void>();
  const released = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { messages: { content: string }[] };
      const task = body.messages.at(-1)!.content;
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ message: { role: "assistant", content: "ok" } }] }));
      };
      const key = /hold:(\S+)/.exec(task)?.[1];
      if (key && !released.has(key)) held.set(key, answer);
      else answer();
    });
  });
  return {
    server,
    release(key: string) {
      released.add(key);
      held.get(key)?.();
      held.delete(key);
    },
  };
}

async function main(options: Options, signal: AbortSignal, cleanups: (() => Promise<void>)[]): Promise<string> {
  const { kubeconfig, kc, kubeVersion } = await startBenchCluster({
    namespace: NAMESPACE,
    nodeResources: { cpu: "64", memory: "512Gi", pods: "110" },
    keepLogs: options.keepLogs,
    timeoutMs: options.timeoutMs,
    cleanups,
    log,
    signal,
  });
  const client = KubeClient.load({ kubeconfig });
  const stub = stubGateway();
  await new Promise<void>((resolve) => stub.server.listen(0, "127.0.0.1", resolve));
  const port = (stub.server.address() as AddressInfo).port;
  cleanups.push(async () => {
    stub.server.closeAllConnections();
    stub.server.close();
  });
  const logger = createLogger("bench", "warn");
  const operator = new Operator({
    client,
    events: new EventRecorder({ client, reportingInstance: "bench", logger }),
    metrics: noopControllerMetrics,
    logger,
    namespaces: [NAMESPACE],
    concurrency: 4,
    delegationEndpointUrl: "http://127.0.0.1:1/mcp",
    operatorNamespace: NAMESPACE,
    operatorPodLabels: { app: "clawcrew-operator" },
    delegationPort: 1,
    resolve: () => ({ host: "127.0.0.1", port }),
  });
  operator.startCaches();
  cleanups.push(() => operator.stop());
  while (!operator.synced()) await sleep(50, undefined, { signal });
  await operator.startControllers();

  const base = `/apis/clawcrew.io/v1alpha1/namespaces/${NAMESPACE}`;
  const agents = new TimedWatch<KubernetesObject & { spec: { replicas: number } }>(kc, `${base}/agents`, "agent");
  const deployments = new TimedWatch<
    KubernetesObject & { spec: { replicas: number }; status?: { readyReplicas?: number } }
  >(kc, `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`, "deployment");
  await agents.start();
  await deployments.start();
  cleanups.push(async () => {
    agents.stop();
    deployments.stop();
  });
  const agentSpec = (extra: object) => ({
    soul: "# bench",
    model: { primary: "openai/gpt-5" },
    maxConcurrentTasks: 1,
    replicas: 1,
    ...extra,
  });
  for (const [name, extra] of [
    [
      SWARM,
      {
        scaling: {
          minReplicas: 1,
          maxReplicas: MAX_REPLICAS,
          targetPendingPerReplica: 1,
          scaleDownDelaySeconds: SCALE_DOWN_DELAY_S,
        },
      },
    ],
    [BASELINE, {}],
  ] as const) {
    await client.request("POST", resourcePath(AGENTS, { namespace: NAMESPACE }), {
      body: { apiVersion: "clawcrew.io/v1alpha1", kind: "Agent", metadata: { name }, spec: agentSpec(extra) },
    });
  }
  const wait = { timeoutMs: options.timeoutMs, signal };
  const readyAt = (name: string, n: number) =>
    deployments.when(name, (d) => d.spec.replicas === n && (d.status?.readyReplicas ?? 0) === n, wait);
  await Promise.all([readyAt(SWARM, 1), readyAt(BASELINE, 1)]);

  const target = Math.min(MAX_REPLICAS, Math.ceil(options.burst / 2));
  const toAgent: number[] = [];
  const toDeployment: number[] = [];
  const toReady: number[] = [];
  const baseline: number[] = [];
  let disturbed = 0;
  let inFlightAtScaleIn = 0;
  const getDelegation = (name: string) =>
    client.get<Delegation>(resourcePath(DELEGATIONS, { namespace: NAMESPACE, name }));
  const finished = async (name: string) => {
    for (;;) {
      const d = await getDelegation(name);
      if (d.status?.phase === "Succeeded" || d.status?.phase === "Failed") return d;
      await sleep(50, undefined, { signal });
    }
  };

  for (let round = 0; round < options.rounds; round++) {
    log(`round ${round + 1}/${options.rounds}`);
    // Baseline: what the Agent controller alone takes to carry spec.replicas to the Deployment.
    const scaleTo = round % 2 === 0 ? 2 : 1;
    const fixedDeploy = deployments.when(BASELINE, (d) => d.spec.replicas === scaleTo, wait);
    const b0 = performance.now();
    await client.request(
      "PATCH",
      resourcePath(AGENTS, { namespace: NAMESPACE, name: BASELINE, subresource: "scale" }),
      {
        body: { spec: { replicas: scaleTo } },
        contentType: "application/merge-patch+json",
      },
    );
    baseline.push((await fixedDeploy) - b0);

    const names = Array.from({ length: options.burst }, (_, i) => `r${round}-d${i}`);
    const agentAt = agents.when(SWARM, (a) => a.spec.replicas === target, wait);
    const deployAt = deployments.when(SWARM, (d) => d.spec.replicas === target, wait);
    const podsAt = readyAt(SWARM, target);
    const t0 = performance.now();
    await Promise.all(
      names.map((name) =>
        client.request("POST", resourcePath(DELEGATIONS, { namespace: NAMESPACE }), {
          body: {
            apiVersion: "clawcrew.io/v1alpha1",
            kind: "Delegation",
            metadata: { name },
            spec: { to: SWARM, task: `hold:${name}`, timeoutSeconds: Math.ceil(options.timeoutMs / 1000) },
          },
        }),
      ),
    );
    toAgent.push((await agentAt) - t0);
    toDeployment.push((await deployAt) - t0);
    toReady.push((await podsAt) - t0);

    // Scale-in with work in flight: keep BUSY_AT_SCALE_IN running, release the rest.
    const running = async () => {
      for (;;) {
        const ds = await Promise.all(names.map(getDelegation));
        const on = ds.filter((d) => d.status?.phase === "Running");
        if (on.length >= Math.min(target, BUSY_AT_SCALE_IN)) return on;
        await sleep(50, undefined, { signal });
      }
    };
    const busy = (await running()).slice(0, BUSY_AT_SCALE_IN).map((d) => d.metadata.name!);
    const shrunk = deployments.when(SWARM, (d) => d.spec.replicas === BUSY_AT_SCALE_IN, wait);
    for (const name of names) if (!busy.includes(name)) stub.release(name);
    await shrunk;
    inFlightAtScaleIn += busy.length;
    const down = readyAt(SWARM, 1);
    for (const name of busy) stub.release(name);
    const done = await Promise.all(names.map(finished));
    disturbed += done.filter((d) => d.status?.phase !== "Succeeded" || (d.status?.attempts?.length ?? 0) !== 1).length;
    await down;
  }

  const row = (what: string, samples: number[], ratio: (p50: number) => string) => {
    const s = summarize(samples);
    return [what, String(s.n), ms(s.p50), ms(s.p90), ms(s.max), ratio(s.p50)];
  };
  const b50 = summarize(baseline).p50;
  const lines = [
    `#### Autoscaling (${options.rounds} rounds, burst of ${options.burst} to a swarm at 1 replica, maxConcurrentTasks 1, targetPendingPerReplica 1 → ${target} replicas; scale-down delay ${SCALE_DOWN_DELAY_S} s)`,
    "",
    table(
      ["from the burst to", "n", "p50", "p90", "max", "vs"],
      [
        row(
          "Agent spec.replicas",
          toAgent,
          (p) => `${(p / 15_000).toFixed(3)}× HPA 15 s, ${(p / 30_000).toFixed(3)}× KEDA 30 s`,
        ),
        row("Deployment spec.replicas", toDeployment, (p) => `${(p / b50).toFixed(2)}× baseline`),
        row("all new pods ready", toReady, (p) => `${(p / b50).toFixed(2)}× baseline`),
        row("baseline: scale subresource → Deployment spec.replicas", baseline, () => "1×"),
      ],
    ),
    "",
    `Scale-in with work in flight: ${disturbed} of ${inFlightAtScaleIn} in-flight delegations disturbed (${options.rounds * options.burst} delegations in all; target 0).`,
    "",
    `Kubernetes ${kubeVersion}, ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} at the end; kwok pods are ready as soon as they are bound.`,
  ];
  await kubectlOk(kubeconfig, ["get", "agents", "-n", NAMESPACE]);
  return lines.join("\n");
}

process.exit(
  await runBench({
    usage: USAGE,
    parseOptions,
    main,
    runLimitMs: 30 * 60_000,
    log,
    operatorLogFile: () => undefined,
  }),
);
