/**
 * Starts a real OpenClaw gateway with exactly the files, env and args an agent pod gets (pod-layout.ts),
 * against a stub LLM, the only fake.
 *
 * The gateway runs as the pod network's "openclaw" runtime (harness/podnet/pod-process.ts) in its own
 * mount, PID and network namespaces (root needed):
 * - mount: tmpfs volumes at the pod's absolute paths, the ConfigMap volume with kubelet's symlink layout
 *   (read-only), and an overlay on /etc holding the image's `node` user; the host is not touched.
 * - network: no sandbox, so only loopback: the gateway listens on the pod's port and bind and cannot reach
 *   anything but the stub; Unix-socket forwarders (sidecars in the pod, and here) connect the test and the
 *   stub across the namespace.
 * - PID: the namespace's init stands in for the image's tini; when it exits no process is left.
 * The init container's copy step and the gateway run as uid 1000 without capabilities, as in the pod.
 * The installed openclaw package stands in for the image's /app and runs with Node 24.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STUB_USAGE, type StubLlm, startStubLlm } from "../../harness/index.ts";
import {
  exitReport,
  POD_SHARE_DIR,
  type PodProcess,
  startPodProcess,
  writeConfigMapVolume,
} from "../../harness/podnet/index.ts";
import { AgentSpec } from "../../src/api/agent.ts";
import { renderOpenClawConfig } from "../../src/openclaw/config.ts";
import {
  CONFIG_DIR,
  CONFIG_PATH,
  configVolumeFiles,
  GATEWAY_ENV,
  GATEWAY_TOKEN_ENV,
  HOME_DIR,
  LIVENESS_PATH,
  READINESS_PATH,
  STARTUP_PATH,
  TMP_DIR,
  WORKSPACE_DIR,
} from "../../src/openclaw/pod-layout.ts";
import { GATEWAY_PORT, IMAGE_GROUP_ID, IMAGE_HOME, IMAGE_USER_ID } from "../../src/openclaw/version.ts";
import { renderWorkspaceFiles } from "../../src/openclaw/workspace.ts";
import { type Forwarder, forward } from "./forward.ts";
import { openclawPackageDir } from "./openclaw.ts";
import { gatewayPid, waitForReady } from "./pod-gateway.ts";

const STUB_ANSWER = "Task T-5 done: 2 + 5 = 7.";
const SOUL = "You are Tally, a careful arithmetic worker. SOUL-MARKER-7f3a.";
const INSTRUCTIONS = "Answer with the result only. AGENTS-MARKER-19c2.";
const SKILL = "---\nname: tally\ndescription: Adds numbers carefully. SKILL-MARKER-5b8e.\n---\n\nAdd the numbers.\n";
/** SIGKILL after this on shutdown; the test fails then (exit code null). */
const STOP_GRACE_MS = 60_000;
const FORWARDER_FILE = fileURLToPath(new URL("./forward.ts", import.meta.url));

describe("OpenClaw gateway in the agent pod layout", () => {
  let work: string;
  let stub: StubLlm;
  const forwarders: Forwarder[] = [];
  let gateway: PodProcess | undefined;
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
    // Shared with the pod at POD_SHARE_DIR: the forwarder (the checkout may sit under /tmp or /home, which the
    // pod's volumes cover) and the sockets that cross the network namespace.
    const share = join(work, "share");
    mkdirSync(share);
    copyFileSync(FORWARDER_FILE, join(share, "forward.ts"));

    stub = await startStubLlm({ models: ["stub-model"], reply: { content: STUB_ANSWER } });
    const stubPort = Number(new URL(stub.baseUrl).port);
    forwarders.push(await forward({ path: join(share, "stub.sock") }, { host: "127.0.0.1", port: stubPort }));

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
      [GATEWAY_TOKEN_ENV]: token,
      STUB_API_KEY: providerKey, // a key of the credentials Secret
    };
    const forwardInPod = (listen: string, target: string) => ["node", `${POD_SHARE_DIR}/forward.ts`, listen, target];
    const started = performance.now();
    gateway = startPodProcess({
      runtime: "openclaw",
      env,
      configDir: join(work, "configmap"),
      packageDir,
      shareDir: share,
      sidecars: [
        forwardInPod(`127.0.0.1:${stubPort}`, `${POD_SHARE_DIR}/stub.sock`),
        forwardInPod(`${POD_SHARE_DIR}/gateway.sock`, `127.0.0.1:${GATEWAY_PORT}`),
      ],
      exitReport: true,
    });
    const forwarder = await forward({ host: "127.0.0.1", port: 0 }, { path: join(share, "gateway.sock") });
    forwarders.push(forwarder);
    gatewayUrl = `http://127.0.0.1:${forwarder.port}`;
    await waitForReady(gatewayUrl, gateway);
    timings.readyMs = performance.now() - started;
  });

  afterAll(async () => {
    try {
      // Only when a test failed before stopping it: SIGKILL to the init kills the whole namespace.
      await gateway?.kill();
      await Promise.all(forwarders.map((f) => f.close()));
      await stub?.close();
    } finally {
      if (work) rmSync(work, { recursive: true, force: true });
      console.log(`[openclaw-gateway] ${JSON.stringify(timings)}`);
    }
  });

  it("lays out the files as the pod gets them", async () => {
    const pid = await gatewayPid(gateway!);
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
    // The reply's usage is what the LLM reported for the one call (status.usage of a Delegation reads it).
    expect(body).toMatchObject({ usage: STUB_USAGE });

    // What reached the LLM: the provider key from the env reference, the workspace in the system prompt.
    const chatRequest = stub.requests.find((r) => r.path === "/v1/chat/completions");
    expect(chatRequest?.headers.authorization).toBe(`Bearer ${providerKey}`);
    const prompt = JSON.stringify(stub.chatRequests()[0]?.messages);
    expect(prompt).toContain("SOUL-MARKER-7f3a");
    expect(prompt).toContain("AGENTS-MARKER-19c2");
    expect(prompt).toContain("tally");
    expect(prompt).toContain("compute 2+5");
    timings.afterTurnRssMiB = rssMiB(await gatewayPid(gateway!));
  });

  it("runs a tool the stub's model calls, then answers, with the usage of both LLM calls summed", async () => {
    const before = stub.chatRequests().length;
    stub.script((request) =>
      request.messages.some((m) => m.role === "tool")
        ? { content: "searched the tools", usage: { prompt_tokens: 200, completion_tokens: 9, total_tokens: 209 } }
        : {
            toolCalls: [{ id: "call7search", name: "tool_search", arguments: { query: "memory" } }],
            usage: { prompt_tokens: 100, completion_tokens: 7, total_tokens: 107 },
          },
    );
    const started = performance.now();
    const { status, reply, body } = await chat("Which tools can you use?", token);
    timings.toolTurnMs = performance.now() - started;
    stub.script({ content: STUB_ANSWER });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(reply).toBe("searched the tools");
    expect(body).toMatchObject({ usage: { prompt_tokens: 300, completion_tokens: 16, total_tokens: 316 } });
    const [first, second] = stub.chatRequests().slice(before);
    expect(first?.tools?.map((t) => t.function.name)).toContain("tool_search");
    expect(second?.messages.find((m) => m.role === "tool")?.tool_call_id).toBe("call7search"); // OpenClaw keeps only [A-Za-z0-9] of tool call ids;
  });

  it("answers zero usage when the LLM reported none (clawcrew reads that as unknown)", async () => {
    stub.script({ content: STUB_ANSWER, usage: null });
    const { status, body } = await chat("Task T-6: compute 2+6", token);
    stub.script({ content: STUB_ANSWER });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } });
  });

  it("refuses a chat completion without the token", async () => {
    expect((await chat("hi")).status).toBe(401);
    expect((await chat("hi", "not-the-token")).status).toBe(401);
  });

  it("stops cleanly on SIGTERM and leaves no process behind", async () => {
    const running = gateway!;
    const started = performance.now();
    const { code } = await running.stop(STOP_GRACE_MS);
    gateway = undefined;
    timings.shutdownMs = performance.now() - started;
    const output = running.output();
    const { leftovers, config } = exitReport(output);
    expect(leftovers).toEqual([]);
    expect(code, output.slice(-4000)).toBe(0);
    // The gateway did not rewrite its config, and tried to reach nothing but the stub.
    expect(config).toBe(renderedConfig);
    expect(output).not.toMatch(/getaddrinfo|EAI_AGAIN|ENETUNREACH/);
  });
});

function rssMiB(pid: number): number {
  const kib = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return Math.round(kib / 1024);
}
