/**
 * Runs the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok) on loopback until Ctrl-C or SIGTERM.
 *
 *   node hack/local-cluster.ts [--kubeconfig <path>] [--nodes <n>] [--keep-data]
 *
 * --kubeconfig <path>  also copy the admin kubeconfig to <path> (removed again on exit); an existing
 *                      file there is only replaced if it is a kubeconfig of this tool
 * --nodes <n>          number of kwok nodes (default 1)
 * --keep-data          keep the temporary data dir (etcd data, certificates, logs) on exit
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type ControlPlane, startControlPlane } from "./cluster/control-plane.ts";
import { StartAbortedError } from "./cluster/errors.ts";

const usage = "usage: node hack/local-cluster.ts [--kubeconfig <path>] [--nodes <n>] [--keep-data]";

function parseOptions() {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      nodes: { type: "string" },
      "keep-data": { type: "boolean", default: false },
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
  return { kubeconfig, nodes, keepData: values["keep-data"] };
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

  try {
    controlPlane = await startControlPlane({
      nodes: options.nodes,
      keepDataDir: options.keepData,
      signal: abort.signal,
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

  await stopped;
  await controlPlane.stop();
  if (options.kubeconfig) rmSync(options.kubeconfig, { force: true });
  process.stderr.write("[local-cluster] stopped\n");
  return 0;
}

process.exitCode = await main();
