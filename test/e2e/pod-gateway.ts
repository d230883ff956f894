/**
 * A real OpenClaw gateway started as an agent pod runs it (see openclaw-gateway.test.ts for what the
 * namespaces mirror): the rendered config volume read-only, uid 1000, a network namespace with only
 * loopback, and Unix-socket forwarders to the stub LLM and from the test.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StubLlm } from "../../harness/index.ts";
import {
  childPids,
  POD_SHARE_DIR,
  type PodProcess,
  startPodProcess,
  writeConfigMapVolume,
} from "../../harness/podnet/index.ts";
import type { AgentSpec } from "../../src/api/agent.ts";
import { renderOpenClawConfig } from "../../src/openclaw/config.ts";
import { configVolumeFiles, GATEWAY_ENV, GATEWAY_TOKEN_ENV, READINESS_PATH } from "../../src/openclaw/pod-layout.ts";
import { GATEWAY_PORT } from "../../src/openclaw/version.ts";
import { renderWorkspaceFiles } from "../../src/openclaw/workspace.ts";
import { type Forwarder, forward } from "./forward.ts";
import { openclawPackageDir } from "./openclaw.ts";

const READY_TIMEOUT_MS = 150_000;
const FORWARDER_FILE = fileURLToPath(new URL("./forward.ts", import.meta.url));

export interface PodGateway {
  url: string;
  token: string;
  /** POST /v1/chat/completions as a delegation does; the reply text and status. */
  chat(content: string): Promise<{ status: number; reply?: string | undefined; body: unknown }>;
  /** The gateway's host PID (its files are under /proc/<pid>/root). */
  pid(): Promise<number>;
  process: PodProcess;
  close(): Promise<void>;
}

/** Starts a gateway for `agentName` with `spec`; its model must be the stub's provider `stub`. */
export async function startPodGateway(agentName: string, spec: AgentSpec, stub: StubLlm): Promise<PodGateway> {
  const work = mkdtempSync(join(tmpdir(), `clawcrew-${agentName}-`));
  const forwarders: Forwarder[] = [];
  let gateway: PodProcess | undefined;
  const close = async () => {
    try {
      await gateway?.stop(30_000);
      await Promise.all(forwarders.map((f) => f.close()));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  };
  try {
    const share = join(work, "share");
    mkdirSync(share);
    copyFileSync(FORWARDER_FILE, join(share, "forward.ts"));
    const stubPort = Number(new URL(stub.baseUrl).port);
    forwarders.push(await forward({ path: join(share, "stub.sock") }, { host: "127.0.0.1", port: stubPort }));

    const config = renderOpenClawConfig({ agentName, spec });
    const soul = spec.soul ?? "";
    const files = configVolumeFiles(config, renderWorkspaceFiles({ soul, instructions: spec.instructions }));
    writeConfigMapVolume(join(work, "configmap"), files);

    const token = `token-${agentName}-${Date.now()}`;
    const forwardInPod = (listen: string, target: string) => ["node", `${POD_SHARE_DIR}/forward.ts`, listen, target];
    gateway = startPodProcess({
      runtime: "openclaw",
      env: { ...GATEWAY_ENV, [GATEWAY_TOKEN_ENV]: token, STUB_API_KEY: "sk-stub" },
      configDir: join(work, "configmap"),
      packageDir: openclawPackageDir(),
      shareDir: share,
      sidecars: [
        forwardInPod(`127.0.0.1:${stubPort}`, `${POD_SHARE_DIR}/stub.sock`),
        forwardInPod(`${POD_SHARE_DIR}/gateway.sock`, `127.0.0.1:${GATEWAY_PORT}`),
      ],
    });
    const running = gateway;
    const forwarder = await forward({ host: "127.0.0.1", port: 0 }, { path: join(share, "gateway.sock") });
    forwarders.push(forwarder);
    const url = `http://127.0.0.1:${forwarder.port}`;
    await waitForReady(url, running);
    return {
      url,
      token,
      process: running,
      chat: async (content) => {
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ model: "openclaw/default", messages: [{ role: "user", content }] }),
        });
        const body = (await response.json()) as { choices?: { message: { content: string } }[] };
        return { status: response.status, reply: body.choices?.[0]?.message.content, body };
      },
      pid: () => gatewayPid(running),
      close,
    };
  } catch (error) {
    await gateway?.kill();
    await close();
    throw error;
  }
}

/** The gateway's host PID: the namespace init's child that runs dist/index.js. */
export async function gatewayPid(gateway: PodProcess): Promise<number> {
  const pid = childPids(await gateway.initPid()).find((p) => {
    const cmdline = existsSync(`/proc/${p}/cmdline`) ? readFileSync(`/proc/${p}/cmdline`, "utf8") : "";
    return cmdline.includes("dist/index.js");
  });
  if (!pid) throw new Error(`gateway process not found\n${gateway.output().slice(-4000)}`);
  return pid;
}

/** Polls /readyz until 200; fails with the gateway's output if it exits or takes too long. */
export async function waitForReady(url: string, gateway: PodProcess): Promise<void> {
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
