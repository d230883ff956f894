/**
 * The files, environment and commands of an agent pod: one description shared by the
 * Deployment builder and the gateway e2e test. Plain data; no Kubernetes objects.
 *
 * Volumes (no volume is nested in another, so no directory is created by the container runtime as root):
 * - config    ConfigMap, read-only at CONFIG_DIR: openclaw.json and workspace/…; kubelet serves its files as symlinks.
 * - home      emptyDir at HOME_DIR: HOME, caches and the OpenClaw state dir (which holds the copied openclaw.json).
 * - workspace emptyDir, or a PVC when spec.workspace.persistent, at WORKSPACE_DIR.
 * - tmp       emptyDir at TMP_DIR: OpenClaw writes locks, staging files and its log file under /tmp.
 * The init container mounts config, home and workspace; the gateway mounts home, workspace and tmp.
 * Both run as the image's user (uid/gid 1000) with a read-only root filesystem.
 */
import { GATEWAY_PORT, IMAGE_HOME } from "./version.ts";
import { OPERATOR_WORKSPACE_ENTRIES } from "./workspace.ts";

export const CONFIG_DIR = "/etc/clawcrew";
export const HOME_DIR = IMAGE_HOME;
export const STATE_DIR = `${HOME_DIR}/.openclaw`;
export const CONFIG_PATH = `${STATE_DIR}/openclaw.json`;
export const WORKSPACE_DIR = `${HOME_DIR}/workspace`;
export const TMP_DIR = "/tmp";

/** Paths inside CONFIG_DIR. */
export const CONFIG_FILE = "openclaw.json";
export const WORKSPACE_SUBDIR = "workspace";

/** Probe paths on GATEWAY_PORT; they need no token. */
export const LIVENESS_PATH = "/healthz";
export const READINESS_PATH = "/readyz";
export const STARTUP_PATH = "/startupz";

/** The env var holding the gateway token, from the agent's token Secret; openclaw.json refers to it. */
export const GATEWAY_TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN";

/**
 * The env var holding a delegator's delegation token, from the same Secret: the lead's MCP client sends
 * it to the operator's delegation endpoint. It is not the gateway token, so neither opens the other's door.
 */
export const DELEGATION_TOKEN_ENV = "CLAWCREW_DELEGATION_TOKEN";

/**
 * The operator's token env vars: an explicit env var wins over a credentials Secret key of the same name,
 * so spec.config and a provider's apiKeyEnv may never name them (a token would leave for the provider).
 */
export const OPERATOR_TOKEN_ENVS: readonly string[] = [GATEWAY_TOKEN_ENV, DELEGATION_TOKEN_ENV];

/**
 * Plain env of the gateway container. It also gets GATEWAY_TOKEN_ENV, DELEGATION_TOKEN_ENV when it delegates,
 * and the keys of spec.credentials' Secret.
 */
export const GATEWAY_ENV: Readonly<Record<string, string>> = {
  HOME: HOME_DIR,
  NODE_ENV: "production",
  OPENCLAW_STATE_DIR: STATE_DIR,
  OPENCLAW_CONFIG_PATH: CONFIG_PATH,
  OPENCLAW_CONFIG_READONLY: "1",
  OPENCLAW_DISABLE_BONJOUR: "1",
  OPENCLAW_NO_AUTO_UPDATE: "1",
};

export interface Listen {
  port: number;
  bind: "lan" | "loopback";
}

/**
 * The gateway container's args, run in the image's working dir (IMAGE_WORKDIR). Leave `command`
 * unset so the image's tini entrypoint stays PID 1. Tests pass a loopback listener.
 */
export function gatewayArgs({ port, bind }: Listen = { port: GATEWAY_PORT, bind: "lan" }): string[] {
  return ["node", "dist/index.js", "gateway", "run", "--port", String(port), "--bind", bind];
}

/**
 * The init container's command: copies openclaw.json into the state dir (OpenClaw wants a regular
 * file, the ConfigMap's are symlinks) and replaces the operator's files in the workspace.
 */
export const INIT_COMMAND: readonly string[] = [
  "sh",
  "-c",
  [
    "set -eu",
    `mkdir -p ${STATE_DIR}`,
    `cp -L ${CONFIG_DIR}/${CONFIG_FILE} ${CONFIG_PATH}`,
    `cd ${WORKSPACE_DIR}`,
    `rm -rf ${OPERATOR_WORKSPACE_ENTRIES.join(" ")}`,
    `cp -RL ${CONFIG_DIR}/${WORKSPACE_SUBDIR}/. ${WORKSPACE_DIR}/`,
  ].join(" && "),
];

export interface ConfigVolumeFile {
  /** ConfigMap key: "/" is not allowed in keys. */
  key: string;
  /** Path under CONFIG_DIR (the volume item's `path`). */
  path: string;
  content: string;
}

/** The config volume's files: openclaw.json and the workspace files, sorted by path. */
export function configVolumeFiles(
  config: Record<string, unknown>,
  workspaceFiles: Record<string, string>,
): ConfigVolumeFile[] {
  const files = [
    { path: CONFIG_FILE, content: `${JSON.stringify(config, null, 2)}\n` },
    ...Object.entries(workspaceFiles).map(([path, content]) => ({ path: `${WORKSPACE_SUBDIR}/${path}`, content })),
  ];
  return files
    .map((file) => ({ key: file.path.replaceAll("/", "__"), ...file }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
