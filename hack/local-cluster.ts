/**
 * Runs the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok) on loopback until Ctrl-C or SIGTERM.
 *
 *   node hack/local-cluster.ts [--kubeconfig <path>] [--nodes <n>] [--keep-data] [--operator] [--example <dir>]
 *   node hack/local-cluster.ts --real [--kubeconfig <path>] [--keep-data] [--example <dir>]
 *
 * --real               a real node instead of kwok (harness/real-node; root): `helm install` of the
 *                      operator from its image, the stub LLM as Service stub-llm (or a real provider when
 *                      ANTHROPIC_API_KEY or OPENAI_API_KEY is set), and real OpenClaw pods for the example
 *
 * --kubeconfig <path>  also copy the admin kubeconfig to <path> (removed again on exit); an existing
 *                      file there is only replaced if it is a kubeconfig of this tool
 * --nodes <n>          number of kwok nodes (default 1)
 * --keep-data          keep the temporary data dir (etcd data, certificates, logs) on exit
 * --operator           install the CRDs and run the operator (src/main.ts) against the cluster;
 *                      its JSON logs go to operator.log in the log dir. Agent pods run a stub
 *                      gateway each, in a network namespace at the pod's IP (harness/podnet;
 *                      needs root), so Delegations are routed to real addresses on this machine.
 * --example <dir>      apply examples/<dir> (with a placeholder llm-credentials Secret) once the CRDs are in
 */
import { spawn } from "node:child_process";
import { copyFileSync, createWriteStream, existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type ControlPlane, StartAbortedError, startControlPlane } from "../harness/index.ts";
import { createPodNetwork, startPodAgent } from "../harness/podnet/index.ts";
import {
  installWithExample,
  OPERATOR_NAMESPACE,
  type RealCluster,
  startRealCluster,
} from "../harness/real-node/index.ts";

const usage = [
  "usage: node hack/local-cluster.ts [--kubeconfig <path>] [--nodes <n>] [--keep-data] [--operator] [--example <dir>]",
  "       node hack/local-cluster.ts --real [--kubeconfig <path>] [--keep-data] [--example <dir>]",
].join("\n");
const repoRoot = join(import.meta.dirname, "..");

function parseOptions() {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      nodes: { type: "string" },
      "keep-data": { type: "boolean", default: false },
      operator: { type: "boolean", default: false },
      example: { type: "string" },
      real: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const nodes = values.nodes === undefined ? 1 : Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`--nodes must be a positive integer\n${usage}`);
  const kubeconfig = values.kubeconfig ? resolve(values.kubeconfig) : undefined;
  if (kubeconfig && existsSync(kubeconfig) && !isOurKubeconfig(kubeconfig)) {
    throw new Error(`--kubeconfig ${kubeconfig}: file exists and is not a clawcrew-local kubeconfig; not replacing it`);
  }
  const example = values.example;
  if (example !== undefined && !existsSync(join(repoRoot, "examples", example))) {
    throw new Error(`--example ${example}: no such directory under examples/`);
  }
  return { kubeconfig, nodes, keepData: values["keep-data"], operator: values.operator, example, real: values.real };
}

function isOurKubeconfig(path: string): boolean {
  try {
    return readFileSync(path, "utf8").includes("current-context: clawcrew-local");
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  const abort = new AbortController();
  let controlPlane: ControlPlane | undefined;
  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`[local-cluster] ${signal} again: exiting now\n`);
      process.exit(130); // the exit hook kills the components with SIGKILL and removes the data dir
    }
    process.stderr.write(`[local-cluster] ${signal}: stopping the control plane\n`);
    abort.abort();
    stopRequested?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);

  if (options.real) return runRealCluster(options, abort.signal, stopped);

  try {
    controlPlane = await startControlPlane({
      nodes: options.nodes,
      keepDataDir: options.keepData,
      signal: abort.signal,
      // With the operator, pods become Ready only when their stub gateway in the pod network answers.
      ...(options.operator && { podReadiness: "external" as const }),
    });
  } catch (error) {
    if (error instanceof StartAbortedError) return 130;
    process.stderr.write(`[local-cluster] ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }

  let kubeconfig = controlPlane.kubeconfigPath;
  if (options.kubeconfig) {
    copyFileSync(controlPlane.kubeconfigPath, options.kubeconfig);
    kubeconfig = options.kubeconfig;
  }
  process.stdout.write(
    [
      `kubeconfig: ${kubeconfig}`,
      `server:     ${controlPlane.server}`,
      `etcd:       ${controlPlane.etcdEndpoint}`,
      `data dir:   ${controlPlane.dataDir} (logs in ${controlPlane.logDir})`,
      `nodes:      ${controlPlane.nodeNames.join(", ")} (pod IPs from ${controlPlane.podIPRange})`,
      `started in  ${(controlPlane.startupMs / 1000).toFixed(1)} s; Ctrl-C stops it`,
      "",
      `export KUBECONFIG=${kubeconfig}`,
      "",
    ].join("\n"),
  );

  const stopOperator = await startExtras(options, kubeconfig, controlPlane.logDir).catch((error: unknown) => {
    process.stderr.write(`[local-cluster] ${error instanceof Error ? error.message : String(error)}\n`);
    stopRequested?.();
    return undefined;
  });

  await stopped;
  await stopOperator?.();
  await controlPlane.stop();
  if (options.kubeconfig) rmSync(options.kubeconfig, { force: true });
  process.stderr.write("[local-cluster] stopped\n");
  return 0;
}

/** --real: the real node, the operator installed by helm, and the example with real OpenClaw pods. */
async function runRealCluster(
  options: ReturnType<typeof parseOptions>,
  signal: AbortSignal,
  stopped: Promise<void>,
): Promise<number> {
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  const say = (message: string) => process.stderr.write(`[local-cluster] ${message}\n`);
  say(
    "starting a real node; the first run builds binaries and images (about 15 minutes on 2 cores), later runs take about a minute",
  );
  let cluster: RealCluster | undefined;
  try {
    cluster = await startRealCluster({ keepDataDir: options.keepData, signal, log: (m) => say(`${elapsed()}  ${m}`) });
    const kubeconfig = options.kubeconfig ?? cluster.kubeconfigPath;
    if (options.kubeconfig) copyFileSync(cluster.kubeconfigPath, options.kubeconfig);
    await installWithExample(kubeconfig, options.example, (m) => say(`${elapsed()}  ${m}`));
    process.stdout.write(
      [
        "",
        `Ready after ${elapsed()}. In another shell:`,
        `  export KUBECONFIG=${kubeconfig}`,
        "  kubectl get clawcrew                      # agents, teams, delegations",
        "  kubectl wait --for=condition=Ready agentteam --all --timeout=10m",
        "  kubectl get delegations -w                # the example's delegations, answered by real gateways",
        "  hack/node24.sh node src/cli/main.ts status   # the clawcrew CLI from this checkout; examples/<dir>/README.md has a first task",
        `  kubectl -n ${OPERATOR_NAMESPACE} logs deploy/clawcrew`,
        "Ctrl-C stops everything and removes the cluster.",
        "",
      ].join("\n"),
    );
    await stopped;
    return 0;
  } catch (error) {
    if (error instanceof StartAbortedError) return 130;
    say(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await cluster?.stop();
    if (options.kubeconfig) rmSync(options.kubeconfig, { force: true });
    say("stopped");
  }
}

function kubectl(kubeconfig: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("kubectl", args, {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ["pipe", "inherit", "inherit"],
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`kubectl ${args.join(" ")} exited ${code}`)),
    );
    child.stdin.end(input ?? "");
  });
}

/** Installs the CRDs, starts the operator and applies an example, as asked; returns how to stop the operator. */
async function startExtras(
  options: { operator: boolean; example: string | undefined },
  kubeconfig: string,
  logDir: string,
): Promise<(() => Promise<void>) | undefined> {
  if (!options.operator && !options.example) return undefined;
  await kubectl(kubeconfig, ["apply", "--server-side", "-f", join(repoRoot, "crds")]);
  await kubectl(kubeconfig, ["wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/part-of=clawcrew"]);
  let stop: (() => Promise<void>) | undefined;
  if (options.operator) {
    const network = await createPodNetwork({ nodes: 1 });
    const pods = await startPodAgent({ kubeconfig, runtime: "stub" });
    process.stdout.write(`pod net:    agent pods run stub gateways on ${network.bridge} (${network.cidr})\n`);
    const logFile = join(logDir, "operator.log");
    const log = createWriteStream(logFile);
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "src/main.ts"),
        `--kubeconfig=${kubeconfig}`,
        "--leader-elect=false",
        "--metrics-bind-address=127.0.0.1:8080",
        "--health-probe-bind-address=127.0.0.1:8081",
        "--delegation-bind-address=127.0.0.1:8082",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    process.stdout.write(`operator:   running (logs: ${logFile}; metrics http://127.0.0.1:8080/metrics)\n`);
    stop = async () => {
      child.kill("SIGTERM");
      await exited;
      await pods.stop();
      await network.destroy();
    };
  }
  if (options.example) {
    await kubectl(
      kubeconfig,
      ["apply", "-f", "-"],
      "apiVersion: v1\nkind: Secret\nmetadata: {name: llm-credentials, namespace: default}\nstringData: {ANTHROPIC_API_KEY: placeholder, OPENAI_API_KEY: placeholder}\n",
    );
    await kubectl(kubeconfig, ["apply", "-n", "default", "-f", join(repoRoot, "examples", options.example)]);
    process.stdout.write(
      `example:    examples/${options.example} applied in namespace default; try: kubectl get clawcrew\n`,
    );
  }
  return stop;
}

process.exitCode = await main();
