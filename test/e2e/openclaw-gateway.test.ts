/**
 * Starts a real OpenClaw gateway with exactly the files, env and args an agent pod gets (pod-layout.ts),
 * against a stub LLM, the only fake.
 *
 * The gateway runs in its own mount, PID and network namespaces (root needed):
 * - mount: tmpfs volumes at the pod's absolute paths, the ConfigMap volume with kubelet's symlink layout
 *   (read-only), and an overlay on /etc holding the image's `node` user; the host is not touched.
 * - network: only loopback, so the gateway listens on the pod's port and bind and cannot reach anything
 *   but the stub; Unix-socket forwarders connect the test and the stub across the namespace.
 * - PID: the namespace's init stands in for the image's tini; when it exits no process is left.
 * The init container's copy step and the gateway run as uid 1000 without capabilities, as in the pod.
 * The installed openclaw package stands in for the image's /app and runs with Node 24.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentSpec } from "../../src/api/agent.ts";
import { renderOpenClawConfig } from "../../src/openclaw/config.ts";
import {
  CONFIG_DIR,
  CONFIG_PATH,
  configVolumeFiles,
  GATEWAY_ENV,
  GATEWAY_TOKEN_ENV,
  gatewayArgs,
  HOME_DIR,
  INIT_COMMAND,
  LIVENESS_PATH,
  READINESS_PATH,
  STARTUP_PATH,
  TMP_DIR,
  WORKSPACE_DIR,
} from "../../src/openclaw/pod-layout.ts";
import { GATEWAY_PORT, IMAGE_GROUP_ID, IMAGE_HOME, IMAGE_USER_ID } from "../../src/openclaw/version.ts";
import { renderWorkspaceFiles } from "../../src/openclaw/workspace.ts";
import { type StubLlm, startStubLlm } from "../support/stub-llm.ts";
import { type Forwarder, forward } from "./forward.ts";
import { openclawPackageDir } from "./openclaw.ts";

const STUB_ANSWER = "Task T-5 done: 2 + 5 = 7.";
const SOUL = "You are Tally, a careful arithmetic worker. SOUL-MARKER-7f3a.";
const INSTRUCTIONS = "Answer with the result only. AGENTS-MARKER-19c2.";
const SKILL = "---\nname: tally\ndescription: Adds numbers carefully. SKILL-MARKER-5b8e.\n---\n\nAdd the numbers.\n";
const READY_TIMEOUT_MS = 150_000;

/** The image's PATH, with Node 24 from the namespace's scratch dir in front (the image has it in /usr/local/bin). */
const SCRATCH = "/mnt";
const IMAGE_PATH = `${SCRATCH}/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

interface Gateway {
  /** `unshare`, which waits for the namespace's init and kills it when killed. */
  unshare: ChildProcess;
  /** The namespace's init, seen from the host. */
  initPid: () => number;
  exited: Promise<{ code: number | null; output: string }>;
  output: () => string;
}

describe("OpenClaw gateway in the agent pod layout", () => {
  let work: string;
  let stub: StubLlm;
  const forwarders: Forwarder[] = [];
  let gateway: Gateway | undefined;
  let gatewayUrl: string;
  let renderedConfig: string;
  const token = randomBytes(24).toString("hex");
  const providerKey = `sk-stub-${randomBytes(8).toString("hex")}`;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root: it creates mount, PID and network namespaces");
    // The namespace setup below assumes these shapes of the pod layout.
    expect(dirname(CONFIG_DIR)).toBe("/etc");
    expect(HOME_DIR).toBe(IMAGE_HOME);
    expect(dirname(HOME_DIR)).toBe("/home");
    expect(dirname(WORKSPACE_DIR)).toBe(HOME_DIR);
    expect(TMP_DIR).toBe("/tmp");

    const packageDir = openclawPackageDir();
    work = mkdtempSync(join(tmpdir(), "clawcrew-gateway-"));
    mkdirSync(join(work, "sockets"));

    stub = await startStubLlm({ models: ["stub-model"], reply: { content: STUB_ANSWER } });
    const stubPort = Number(new URL(stub.baseUrl).port);
    forwarders.push(await forward({ path: join(work, "sockets", "stub.sock") }, { host: "127.0.0.1", port: stubPort }));

    const spec = AgentSpec.parse({
      soul: SOUL,
      instructions: INSTRUCTIONS,
      skills: [{ name: "tally", content: SKILL }],
      model: {
        primary: "stub/stub-model",
        providers: [
          {
            name: "stub",
            baseUrl: stub.baseUrl,
            api: "openai-completions",
            apiKeyEnv: "STUB_API_KEY",
            models: [{ id: "stub-model", contextWindow: 128000, maxTokens: 4096 }],
          },
        ],
      },
      timeoutSeconds: 120,
    });
    const config = renderOpenClawConfig({ agentName: "tally", spec });
    const workspace = renderWorkspaceFiles({ soul: SOUL, instructions: INSTRUCTIONS, skills: spec.skills });
    const files = configVolumeFiles(config, workspace);
    renderedConfig = files.find((f) => f.path === "openclaw.json")!.content;
    writeConfigMapVolume(join(work, "configmap"), files);

    const env = {
      ...GATEWAY_ENV,
      PATH: IMAGE_PATH,
      [GATEWAY_TOKEN_ENV]: token,
      STUB_API_KEY: providerKey, // a key of the credentials Secret
    };
    const started = performance.now();
    gateway = startPod({ work, packageDir, stubPort, env });
    const forwarder = await forward({ host: "127.0.0.1", port: 0 }, { path: join(work, "sockets", "gateway.sock") });
    forwarders.push(forwarder);
    gatewayUrl = `http://127.0.0.1:${forwarder.port}`;
    await waitForReady(gatewayUrl, gateway);
    timings.readyMs = performance.now() - started;
  });

  afterAll(async () => {
    try {
      if (gateway) {
        // Only when a test failed before stopping it: killing unshare kills the whole namespace.
        gateway.unshare.kill("SIGKILL");
        await gateway.exited;
      }
      await Promise.all(forwarders.map((f) => f.close()));
      await stub?.close();
    } finally {
      if (work) rmSync(work, { recursive: true, force: true });
      console.log(`[openclaw-gateway] ${JSON.stringify(timings)}`);
    }
  });

  it("lays out the files as the pod gets them", () => {
    const pid = gatewayPid(gateway!);
    const root = `/proc/${pid}/root`;
    expect(lstatSync(join(root, CONFIG_PATH)).isFile()).toBe(true); // a copy, not the ConfigMap's symlink
    const copied = readFileSync(join(root, CONFIG_PATH), "utf8");
    expect(JSON.parse(copied)).toMatchObject({ gateway: { port: GATEWAY_PORT, bind: "lan" } });
    expect(readFileSync(join(root, WORKSPACE_DIR, "SOUL.md"), "utf8")).toBe(SOUL);
    expect(readFileSync(join(root, WORKSPACE_DIR, "skills/tally/SKILL.md"), "utf8")).toBe(SKILL);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(new RegExp(`^Uid:\\s+${IMAGE_USER_ID}\\s`, "m"));
    expect(status).toMatch(new RegExp(`^Gid:\\s+${IMAGE_GROUP_ID}\\s`, "m"));
    timings.readyRssMiB = rssMiB(pid);
  });

  it("serves the probes without a token", async () => {
    for (const path of [STARTUP_PATH, READINESS_PATH, LIVENESS_PATH]) {
      const response = await fetch(`${gatewayUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toContain("application/json");
    }
  });

  /** POST /v1/chat/completions on the gateway, as a lead (or kubectl port-forward) would. */
  async function chat(content: string, bearer?: string): Promise<{ status: number; reply?: string; body: unknown }> {
    const response = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(bearer && { authorization: `Bearer ${bearer}` }) },
      body: JSON.stringify({ model: "openclaw/default", messages: [{ role: "user", content }] }),
    });
    const body = (await response.json()) as { choices?: { message: { content: string } }[] };
    return { status: response.status, reply: body.choices?.[0]?.message.content, body };
  }

  it("answers a chat completion with the stub's reply", async () => {
    const started = performance.now();
    const { status, reply, body } = await chat("Task T-5: compute 2+5", token);
    timings.firstTurnMs = performance.now() - started;
    expect(status, JSON.stringify(body)).toBe(200);
    expect(reply).toBe(STUB_ANSWER);

    // What reached the LLM: the provider key from the env reference, the workspace in the system prompt.
    const chatRequest = stub.requests.find((r) => r.path === "/v1/chat/completions");
    expect(chatRequest?.headers.authorization).toBe(`Bearer ${providerKey}`);
    const prompt = JSON.stringify(stub.chatRequests()[0]?.messages);
    expect(prompt).toContain("SOUL-MARKER-7f3a");
    expect(prompt).toContain("AGENTS-MARKER-19c2");
    expect(prompt).toContain("tally");
    expect(prompt).toContain("compute 2+5");
    timings.afterTurnRssMiB = rssMiB(gatewayPid(gateway!));
  });

  it("runs a tool the stub's model calls, then answers", async () => {
    const before = stub.chatRequests().length;
    stub.script((request) =>
      request.messages.some((m) => m.role === "tool")
        ? { content: "searched the tools" }
        : { toolCalls: [{ id: "call7search", name: "tool_search", arguments: { query: "memory" } }] },
    );
    const started = performance.now();
    const { status, reply, body } = await chat("Which tools can you use?", token);
    timings.toolTurnMs = performance.now() - started;
    stub.script({ content: STUB_ANSWER });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(reply).toBe("searched the tools");
    const [first, second] = stub.chatRequests().slice(before);
    expect(first?.tools?.map((t) => t.function.name)).toContain("tool_search");
    expect(second?.messages.find((m) => m.role === "tool")?.tool_call_id).toBe("call7search"); // OpenClaw keeps only [A-Za-z0-9] of tool call ids;
  });

  it("refuses a chat completion without the token", async () => {
    expect((await chat("hi")).status).toBe(401);
    expect((await chat("hi", "not-the-token")).status).toBe(401);
  });

  it("stops cleanly on SIGTERM and leaves no process behind", async () => {
    const running = gateway!;
    const started = performance.now();
    process.kill(running.initPid(), "SIGTERM");
    const { code, output } = await running.exited;
    gateway = undefined;
    timings.shutdownMs = performance.now() - started;
    expect(output).not.toContain("LEFTOVER");
    expect(code, output.slice(-4000)).toBe(0);
    // The gateway did not rewrite its config, and tried to reach nothing but the stub.
    const config = Buffer.from(/^CONFIG (\S*)$/m.exec(output)?.[1] ?? "", "base64").toString("utf8");
    expect(config).toBe(renderedConfig);
    expect(output).not.toMatch(/getaddrinfo|EAI_AGAIN|ENETUNREACH/);
  });
});

/** Writes files as kubelet serves a ConfigMap volume: a timestamped dir, `..data`, and top-level symlinks. */
function writeConfigMapVolume(dir: string, files: { path: string; content: string }[]): void {
  const version = "..2026_01_01_00_00_00.000000001";
  for (const { path, content } of files) {
    mkdirSync(dirname(join(dir, version, path)), { recursive: true });
    writeFileSync(join(dir, version, path), content);
  }
  symlinkSync(version, join(dir, "..data"));
  for (const top of readdirSync(join(dir, version))) symlinkSync(join("..data", top), join(dir, top));
}

function startPod({
  work,
  packageDir,
  stubPort,
  env,
}: {
  work: string;
  packageDir: string;
  stubPort: number;
  env: Record<string, string>;
}): Gateway {
  const node = dirname(dirname(process.execPath));
  const prefix = dirname(dirname(packageDir)); // holds node_modules/openclaw and its hoisted dependencies
  const app = `${SCRATCH}/app/node_modules/openclaw`;
  const sockets = `${SCRATCH}/sockets`;
  const forwarder = fileURLToPath(new URL("./forward.ts", import.meta.url));
  const asImageUser = `setpriv --reuid=${IMAGE_USER_ID} --regid=${IMAGE_GROUP_ID} --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all`;
  const emptyDir = `-o mode=2777,gid=${IMAGE_GROUP_ID}`;
  const script = `
set -euo pipefail
ip link set lo up
mount -t tmpfs -o mode=0755 scratch ${SCRATCH}
mkdir -p ${SCRATCH}/etc-upper ${SCRATCH}/etc-work ${SCRATCH}/node ${SCRATCH}/app ${sockets}
mount -t overlay overlay -o lowerdir=/etc,upperdir=${SCRATCH}/etc-upper,workdir=${SCRATCH}/etc-work /etc
sed -i '/^[^:]*:[^:]*:${IMAGE_USER_ID}:/d' /etc/passwd
sed -i '/^[^:]*:[^:]*:${IMAGE_GROUP_ID}:/d' /etc/group
echo 'node:x:${IMAGE_USER_ID}:${IMAGE_GROUP_ID}::${IMAGE_HOME}:/bin/sh' >> /etc/passwd
echo 'node:x:${IMAGE_GROUP_ID}:' >> /etc/group
for pair in ${q(node)}:${SCRATCH}/node ${q(prefix)}:${SCRATCH}/app; do
  mount --bind "\${pair%%:*}" "\${pair#*:}"; mount -o remount,bind,ro "\${pair#*:}"
done
mount --bind ${q(join(work, "sockets"))} ${sockets}
# The checkout may live under /tmp or /home, which the pod's volumes cover below: keep a copy of the forwarder.
cp ${q(forwarder)} ${SCRATCH}/forward.ts
mkdir -p ${CONFIG_DIR}
mount -t tmpfs -o mode=0755 config ${CONFIG_DIR}
cp -a ${q(join(work, "configmap"))}/. ${CONFIG_DIR}/
mount -o remount,ro ${CONFIG_DIR}
mount -t tmpfs -o mode=0755 home-parent ${dirname(HOME_DIR)}
mkdir ${HOME_DIR}
mount -t tmpfs ${emptyDir} home ${HOME_DIR}
mkdir ${WORKSPACE_DIR}
mount -t tmpfs ${emptyDir} workspace ${WORKSPACE_DIR}
mount -t tmpfs ${emptyDir} tmp ${TMP_DIR}

${SCRATCH}/node/bin/node ${SCRATCH}/forward.ts 127.0.0.1:${stubPort} ${sockets}/stub.sock & stub_fwd=$!
${SCRATCH}/node/bin/node ${SCRATCH}/forward.ts ${sockets}/gateway.sock 127.0.0.1:${GATEWAY_PORT} & gateway_fwd=$!

env -i PATH="$PATH" HOME=${HOME_DIR} ${asImageUser} ${INIT_COMMAND.map(q).join(" ")}

cd ${app}
${asImageUser} ${gatewayArgs().map(q).join(" ")} & gateway=$!
trap 'kill -TERM $gateway 2>/dev/null || true' TERM
set +e
while :; do
  wait $gateway; rc=$?
  kill -0 $gateway 2>/dev/null || break
done
kill -TERM $stub_fwd $gateway_fwd; wait $stub_fwd $gateway_fwd
echo "CONFIG $(base64 -w0 ${CONFIG_PATH})"
for p in /proc/[0-9]*; do
  [ "\${p#/proc/}" = 1 ] && continue
  read -r comm < "$p/comm" 2>/dev/null && echo "LEFTOVER \${p#/proc/} $comm"
done
exit $rc
`;
  const child = spawn(
    "unshare",
    [
      "--mount",
      "--pid",
      "--net",
      "--fork",
      "--mount-proc",
      "--kill-child",
      "--propagation",
      "private",
      "bash",
      "-c",
      script,
    ],
    {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, output })),
  );
  let initPid: number | undefined;
  return { unshare: child, initPid: () => (initPid ??= waitForChild(child.pid!)), exited, output: () => output };
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function waitForChild(pid: number): number {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const [child] = childPids(pid);
    if (child) return child;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  throw new Error("unshare started no child");
}

/** The gateway's host PID: the namespace init's child that runs dist/index.js. */
function gatewayPid(gateway: Gateway): number {
  const pid = childPids(gateway.initPid()).find((p) => {
    const cmdline = existsSync(`/proc/${p}/cmdline`) ? readFileSync(`/proc/${p}/cmdline`, "utf8") : "";
    return cmdline.includes("dist/index.js");
  });
  if (!pid) throw new Error(`gateway process not found\n${gateway.output().slice(-4000)}`);
  return pid;
}

function rssMiB(pid: number): number {
  const kib = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return Math.round(kib / 1024);
}

async function waitForReady(url: string, gateway: Gateway): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void gateway.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(`${url}${READINESS_PATH}`, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`gateway not ready (${exited ? "exited" : "timed out"}):\n${gateway.output().slice(-6000)}`);
}
