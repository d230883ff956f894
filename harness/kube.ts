/** Small helpers for tests that talk to a cluster: kubeconfigs, namespaces, polling, JSON objects. */
import { randomBytes } from "node:crypto";
import { ApiException, type CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { ConditionTimeoutError, KubeconfigError } from "./errors.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from the API server or kubectl
export type Obj = Record<string, any>;

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A KubeConfig for the same cluster (server, CA) that authenticates with another bearer token. */
export function kubeConfigWithToken(base: KubeConfig, token: string): KubeConfig {
  const cluster = base.getCurrentCluster();
  if (!cluster) throw new KubeconfigError("kubeconfig has no current cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "token-user", token }],
    contexts: [{ name: "token-context", cluster: cluster.name, user: "token-user" }],
    currentContext: "token-context",
  });
  return kc;
}

/** A namespace name that is unique per call: `<prefix>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export async function createNamespace(core: CoreV1Api, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await core.createNamespace({ body: { metadata: { name, labels: { "clawcrew.test/integration": "true" } } } });
  return name;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

/** Polls `check` until it returns a value other than undefined (errors count as "not yet"). */
export async function eventually<T>(
  description: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 250 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new ConditionTimeoutError(`timed out after ${timeoutMs} ms waiting for ${description}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves once reading the object answers 404. */
export function eventuallyGone(description: string, read: () => Promise<unknown>, timeoutMs = 60_000): Promise<true> {
  return eventually(
    `${description} to be deleted`,
    async () => {
      try {
        await read();
        return undefined;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    },
    { timeoutMs },
  );
}

/** True when the dotted IPv4 address lies in the CIDR (IPv4 only). */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const toInt = (a: string) => a.split(".").reduce((acc, octet) => (acc << 8) + Number(octet), 0) >>> 0;
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  if (!base || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(ip) & mask) >>> 0 === (toInt(base) & mask) >>> 0;
}
