/**
 * Runs a pod's process in fresh mount and PID namespaces, inside its sandbox's network namespace or, without
 * one, a private network namespace with only loopback:
 *
 *   setpriv --pdeathsig KILL [ip netns exec <netns>] unshare [--net] --mount --pid --fork --mount-proc \
 *     --kill-child --propagation private bash -c …
 *
 * The namespace's init (bash) stands in for the image's tini. Killing it (SIGKILL) kills everything in the
 * pod, as a crashed container would; SIGTERM asks it to stop its child and exit. Node 24 is bind-mounted
 * read-only at /mnt/node (the host's copy may sit under an unreadable /root), and the pod's processes run
 * as the image's user (uid/gid 1000) without capabilities.
 *
 * - runtime "stub": stub-gateway.ts, copied into the pod, on 0.0.0.0:18789.
 * - runtime "openclaw": tmpfs volumes at the pod's paths, the ConfigMap volume read-only at CONFIG_DIR, an
 *   overlay /etc with the image's `node` user, the init container's INIT_COMMAND, then `gatewayArgs()`
 *   (bind "lan" on 18789) in the package dir.
 *
 * Without a sandbox (test/e2e/openclaw-gateway.test.ts) nothing outside the pod is reachable: `shareDir`
 * and `sidecars` (e.g. forwarders between TCP and Unix sockets, which cross network namespaces) connect it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CONFIG_DIR,
  CONFIG_PATH,
  gatewayArgs,
  HOME_DIR,
  INIT_COMMAND,
  TMP_DIR,
  WORKSPACE_DIR,
} from "../../src/openclaw/pod-layout.ts";
import { IMAGE_GROUP_ID, IMAGE_HOME, IMAGE_USER_ID } from "../../src/openclaw/version.ts";
import { PodProcessError } from "../errors.ts";

export type PodRuntime = "stub" | "openclaw";

/** Scratch tmpfs inside the pod's mount namespace. */
const SCRATCH = "/mnt";
/** The image's PATH with Node 24 in front (the image has it in /usr/local/bin). */
export const POD_PATH = `${SCRATCH}/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
/** Where `shareDir` appears in the pod. */
export const POD_SHARE_DIR = `${SCRATCH}/share`;
export const STUB_GATEWAY_FILE = fileURLToPath(new URL("./stub-gateway.ts", import.meta.url));
const OUTPUT_LIMIT = 256 * 1024;

export interface PodProcessOptions {
  /**
   * The sandbox's network namespace (createSandbox). Unset: a private one with only loopback up, from which
   * nothing outside the pod is reachable but through `shareDir`.
   */
  netns?: string;
  runtime: PodRuntime;
  /** The container's environment (PATH is set to POD_PATH). */
  env: Record<string, string>;
  /** openclaw: host dir holding the config volume in kubelet's layout (see writeConfigMapVolume). */
  configDir?: string;
  /** openclaw: the installed package (node_modules/openclaw), the stand-in for the image's /app. */
  packageDir?: string;
  /** Node 24's install prefix (holding bin/node). Default: the running Node's. */
  nodePrefix?: string;
  /** A host dir bind-mounted read-write at POD_SHARE_DIR: files for sidecars, Unix sockets. */
  shareDir?: string;
  /**
   * Commands run as root in the pod, with its env, before its process starts; SIGTERMed and awaited once it
   * has exited. The pod's own volumes hide the host's /tmp and /home: run files from POD_SHARE_DIR.
   */
  sidecars?: readonly (readonly string[])[];
  /**
   * Once the process has exited (and the sidecars stopped), print `LEFTOVER <pid> <comm>` for each process
   * still in the pod and, for openclaw, `CONFIG <base64 of CONFIG_PATH>` (see exitReport()).
   */
  exitReport?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PodProcess {
  /** Host pid of `unshare` (which waits for the namespace's init). */
  pid: number;
  /** Host pid of the namespace's init (bash); resolves once unshare has forked it. */
  initPid(): Promise<number>;
  /** Resolves when the pod's init is gone (never rejects). */
  exited: Promise<ExitInfo>;
  readonly running: boolean;
  /** Last 256 KiB of stdout and stderr. */
  output(): string;
  /** SIGKILL to the namespace's init: every process of the pod dies at once. */
  kill(): Promise<ExitInfo>;
  /** SIGTERM to the init, SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

/** What the `exitReport` option printed: the processes left in the pod, and OpenClaw's config file. */
export function exitReport(output: string): { leftovers: string[]; config: string | undefined } {
  const config = /^CONFIG (\S*)$/m.exec(output)?.[1];
  return {
    // Not anchored: stdout and stderr share the output, so a line may follow another's unfinished one.
    leftovers: [...output.matchAll(/LEFTOVER (\d+ .*)$/gm)].map((m) => m[1]!),
    config: config === undefined ? undefined : Buffer.from(config, "base64").toString("utf8"),
  };
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const asImageUser = `setpriv --reuid=${IMAGE_USER_ID} --regid=${IMAGE_GROUP_ID} --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all`;

/** The mounts of every pod: scratch, Node 24, the share dir; loopback up in a private network namespace. */
function baseScript(options: PodProcessOptions, nodePrefix: string): string {
  const share = options.shareDir
    ? `mkdir -p ${POD_SHARE_DIR}\nmount --bind ${q(options.shareDir)} ${POD_SHARE_DIR}`
    : "";
  return `
set -euo pipefail
${options.netns ? "" : "ip link set lo up"}
mount -t tmpfs -o mode=0755 scratch ${SCRATCH}
mkdir -p ${SCRATCH}/node
mount --bind ${q(nodePrefix)} ${SCRATCH}/node
mount -o remount,bind,ro ${SCRATCH}/node
${share}
`;
}

/** Stub: the setup before the pod's process, and its command. */
function stubRuntime(): { setup: string; command: string } {
  return {
    setup: `cp ${q(STUB_GATEWAY_FILE)} ${SCRATCH}/stub-gateway.ts\ncd ${SCRATCH}`,
    command: `${asImageUser} ${SCRATCH}/node/bin/node ${SCRATCH}/stub-gateway.ts`,
  };
}

/** OpenClaw: the pod's volumes, /etc with the image's user, the init container; then the gateway. */
function openclawRuntime(configDir: string, packageDir: string): { setup: string; command: string } {
  const prefix = dirname(dirname(packageDir)); // holds node_modules/openclaw and its hoisted dependencies
  const app = `${SCRATCH}/app/node_modules/openclaw`;
  const emptyDir = `-o mode=2777,gid=${IMAGE_GROUP_ID}`;
  return {
    setup: `
mkdir -p ${SCRATCH}/etc-upper ${SCRATCH}/etc-work ${SCRATCH}/app
mount --bind ${q(prefix)} ${SCRATCH}/app
mount -o remount,bind,ro ${SCRATCH}/app
mount -t overlay overlay -o lowerdir=/etc,upperdir=${SCRATCH}/etc-upper,workdir=${SCRATCH}/etc-work /etc
sed -i '/^[^:]*:[^:]*:${IMAGE_USER_ID}:/d' /etc/passwd
sed -i '/^[^:]*:[^:]*:${IMAGE_GROUP_ID}:/d' /etc/group
echo 'node:x:${IMAGE_USER_ID}:${IMAGE_GROUP_ID}::${IMAGE_HOME}:/bin/sh' >> /etc/passwd
echo 'node:x:${IMAGE_GROUP_ID}:' >> /etc/group
mkdir -p ${CONFIG_DIR}
mount -t tmpfs -o mode=0755 config ${CONFIG_DIR}
cp -a ${q(configDir)}/. ${CONFIG_DIR}/
mount -o remount,ro ${CONFIG_DIR}
mount -t tmpfs -o mode=0755 home-parent ${dirname(HOME_DIR)}
mkdir ${HOME_DIR}
mount -t tmpfs ${emptyDir} home ${HOME_DIR}
mkdir ${WORKSPACE_DIR}
mount -t tmpfs ${emptyDir} workspace ${WORKSPACE_DIR}
mount -t tmpfs ${emptyDir} tmp ${TMP_DIR}
env -i PATH="$PATH" HOME=${HOME_DIR} ${asImageUser} ${INIT_COMMAND.map(q).join(" ")}
cd ${app}`,
    command: `${asImageUser} ${gatewayArgs().map(q).join(" ")}`,
  };
}

/**
 * Starts the sidecars and the pod's process, then waits for it while forwarding SIGTERM to it (a stand-in for
 * tini); stops the sidecars, prints the exit report if asked, and exits with the process's status.
 */
function superviseScript(options: PodProcessOptions, command: string): string {
  const sidecars = options.sidecars ?? [];
  const report = [
    options.runtime === "openclaw" ? `echo "CONFIG $(base64 -w0 ${CONFIG_PATH})"` : "",
    `for p in /proc/[0-9]*; do
  [ "\${p#/proc/}" = 1 ] && continue
  read -r comm < "$p/comm" 2>/dev/null && echo "LEFTOVER \${p#/proc/} $comm"
done`,
  ];
  return `
sidecars=""
${sidecars.map((argv) => `${argv.map(q).join(" ")} & sidecars="$sidecars $!"`).join("\n")}
${command} & child=$!
trap 'kill -TERM $child 2>/dev/null || true' TERM
set +e
while :; do
  wait $child; rc=$?
  kill -0 $child 2>/dev/null || break
done
if [ -n "$sidecars" ]; then kill -TERM $sidecars 2>/dev/null; wait $sidecars; fi
${options.exitReport ? report.join("\n") : ""}
exit $rc
`;
}

/** Host pids of the children of `pid` (e.g. of a pod's init: its process and sidecars). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function startPodProcess(options: PodProcessOptions): PodProcess {
  const nodePrefix = options.nodePrefix ?? dirname(dirname(process.execPath));
  let runtime: { setup: string; command: string };
  if (options.runtime === "stub") {
    runtime = stubRuntime();
  } else {
    if (!options.configDir || !options.packageDir) {
      throw new PodProcessError("the openclaw runtime needs configDir and packageDir");
    }
    runtime = openclawRuntime(options.configDir, options.packageDir);
  }
  const script = `${baseScript(options, nodePrefix)}${runtime.setup}\n${superviseScript(options, runtime.command)}`;
  const where = options.netns ?? "a private network namespace";
  const child: ChildProcess = spawn(
    "setpriv",
    [
      // If the test runner dies (even by SIGKILL), unshare dies too and --kill-child takes the pod with it.
      "--pdeathsig",
      "KILL",
      ...(options.netns ? ["ip", "netns", "exec", options.netns, "unshare"] : ["unshare", "--net"]),
      "--mount",
      "--pid",
      "--fork",
      "--mount-proc",
      "--kill-child",
      "--propagation",
      "private",
      "bash",
      "-c",
      script,
    ],
    // Own process group: a terminal's Ctrl-C reaches the test runner, which stops the pods itself.
    { env: { ...options.env, PATH: POD_PATH }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  if (child.pid === undefined) throw new PodProcessError(`could not start the pod process in ${where}`);
  const pid = child.pid;
  let output = "";
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  let running = true;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("error", (error) => {
      append(Buffer.from(`\n${error.message}\n`));
      running = false;
      resolve({ code: null, signal: null });
    });
    child.once("exit", (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });

  let init: Promise<number> | undefined;
  const initPid = () => {
    init ??= (async () => {
      const deadline = Date.now() + 10_000;
      while (running && Date.now() < deadline) {
        const [first] = childPids(pid);
        if (first) return first;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new PodProcessError(`unshare (pid ${pid}) in ${where} started no init\n${output.slice(-2000)}`);
    })();
    return init;
  };
  const signalInit = async (signal: NodeJS.Signals) => {
    if (!running) return;
    const target = await initPid().catch(() => pid);
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  };
  const stop = async (graceMs = 10_000) => {
    await signalInit("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (running) {
      // unshare --kill-child SIGKILLs the init when unshare dies.
      await signalInit("SIGKILL");
      child.kill("SIGKILL");
    }
    return exited;
  };
  return {
    pid,
    initPid,
    exited,
    get running() {
      return running;
    },
    output: () => output,
    async kill() {
      await signalInit("SIGKILL");
      return exited;
    },
    stop,
  };
}
