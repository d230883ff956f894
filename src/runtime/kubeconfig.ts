/**
 * Where the API server is and how to authenticate to it: read from a kubeconfig file, `$KUBECONFIG`,
 * `~/.kube/config` or the pod's service account, in the order client-node's `loadFromDefault` uses.
 * It exists so the operator does not load @kubernetes/client-node (~85 MiB RSS): tokens, token
 * files, client certificates and basic auth are handled here. Users with an `exec` or
 * `auth-provider` plugin, and clusters with a `proxy-url`, are handed to client-node's KubeConfig,
 * imported on their first request only.
 */
import { readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type http from "node:http";
import type https from "node:https";
import { isIPv6 } from "node:net";
import { homedir } from "node:os";
import path from "node:path";
import type { Cluster, KubeConfig, User } from "@kubernetes/client-node";
import { load as parseYaml } from "js-yaml";

/** The kubeconfig (or the in-cluster configuration) cannot be used; the message names the file and field. */
export class KubeConfigError extends Error {
  override readonly name = "KubeConfigError";
}

export interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** false with `insecure-skip-tls-verify`; unset otherwise (Node's default: verify). */
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** What one request needs to reach and authenticate to the API server. */
export interface Credentials {
  /** `Authorization` and `Impersonate-User`, when the user has them. */
  headers: Record<string, string>;
  tls: TlsOptions;
  /** Only for a cluster with a `proxy-url` (client-node's proxy agent); otherwise the client uses its own. */
  agent?: http.Agent;
}

export interface ClusterConnection {
  readonly server: URL;
  /** Where it was read from, for messages: `kubeconfig <file>` or `in-cluster`. */
  readonly source: string;
  /** Re-reads token and certificate files once they are older than the refresh interval. */
  credentials(): Promise<Credentials>;
}

export interface LoadOptions {
  /** An explicit kubeconfig file (`--kubeconfig`); otherwise `$KUBECONFIG`, `~/.kube/config`, in-cluster. */
  kubeconfig?: string;
  /** Default process.env (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT). */
  env?: Record<string, string | undefined>;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
  /** How old a token or certificate file may get before it is read again. Default 60 s, like client-go. */
  refreshIntervalMs?: number;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Finds and reads the configuration: `kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`, else in-cluster. */
export function loadClusterConnection(options: LoadOptions = {}): ClusterConnection {
  const env = options.env ?? process.env;
  const refreshMs = options.refreshIntervalMs ?? 60_000;
  if (options.kubeconfig) return fromKubeconfigFiles([options.kubeconfig], refreshMs);
  if (env.KUBECONFIG) {
    const listed = env.KUBECONFIG.split(path.delimiter).filter(Boolean);
    // Like kubectl: files in the list that do not exist are skipped.
    const files = listed.filter(isFile);
    if (!files.length) throw new KubeConfigError(`KUBECONFIG=${env.KUBECONFIG}: none of its files exists`);
    return fromKubeconfigFiles(files, refreshMs);
  }
  const home = env.HOME || homedir();
  const defaultFile = home ? path.join(home, ".kube", "config") : undefined;
  if (defaultFile && isFile(defaultFile)) return fromKubeconfigFiles([defaultFile], refreshMs);
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (isFile(path.join(saDir, "token"))) return inClusterConnection(saDir, env, refreshMs);
  throw new KubeConfigError(
    `no configuration found: pass --kubeconfig, set KUBECONFIG, create ${defaultFile ?? "~/.kube/config"}, or run in a pod with a service account token (${saDir}/token)`,
  );
}

/** The pod's service account: the token is re-read every refresh interval (bound tokens rotate). */
export function inClusterConnection(
  dir: string,
  env: Record<string, string | undefined> = process.env,
  refreshMs = 60_000,
): ClusterConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError("in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  // client-node's rule: these ports speak plain HTTP.
  const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
  const server = parseServer(`${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, "in-cluster");
  const ca = new RefreshingFile(path.join(dir, "ca.crt"), "in-cluster: CA", refreshMs);
  const token = new RefreshingFile(path.join(dir, "token"), "in-cluster: token", refreshMs);
  return {
    server,
    source: "in-cluster",
    async credentials() {
      const [caPem, bearer] = await Promise.all([ca.read(), token.read()]);
      return { headers: { Authorization: `Bearer ${bearer.toString("utf8").trim()}` }, tls: { ca: caPem } };
    },
  };
}

// ---- kubeconfig files ----

interface Named {
  name: string;
  /** The file that defined it: relative paths resolve against its directory. */
  file: string;
  fields: Record<string, unknown>;
}

interface Merged {
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
  currentContext?: { name: string; file: string };
}

function fromKubeconfigFiles(files: string[], refreshMs: number): ClusterConnection {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of files) mergeFile(merged, file);
  const source = `kubeconfig ${files.join(path.delimiter)}`;
  const current = merged.currentContext;
  if (!current) throw new KubeConfigError(`${source}: current-context is not set`);
  const context = merged.contexts.get(current.name);
  if (!context) throw new KubeConfigError(`kubeconfig ${current.file}: context "${current.name}" not found`);
  const clusterName = optionalString(context, "cluster");
  if (!clusterName) throw new KubeConfigError(`${where(context)}: context "${context.name}" has no cluster`);
  const cluster = merged.clusters.get(clusterName);
  if (!cluster) {
    throw new KubeConfigError(`${where(context)}: cluster "${clusterName}" of context "${context.name}" not found`);
  }
  const userName = optionalString(context, "user");
  const user = userName ? merged.users.get(userName) : undefined;
  if (userName && !user) {
    throw new KubeConfigError(`${where(context)}: user "${userName}" of context "${context.name}" not found`);
  }
  return connect(cluster, user, refreshMs);
}

/** Adds a file's entries; like kubectl, the first file that defines a name (or current-context) wins. */
function mergeFile(merged: Merged, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new KubeConfigError(`kubeconfig ${file}: cannot read: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new KubeConfigError(`kubeconfig ${file}: invalid YAML: ${(error as Error).message}`);
  }
  if (doc === undefined || doc === null) return; // an empty file, as kubectl allows
  if (typeof doc !== "object" || Array.isArray(doc)) throw new KubeConfigError(`kubeconfig ${file}: not a mapping`);
  const config = doc as Record<string, unknown>;
  const lists = [
    ["clusters", "cluster", merged.clusters],
    ["users", "user", merged.users],
    ["contexts", "context", merged.contexts],
  ] as const;
  for (const [list, key, into] of lists) {
    const entries = config[list] ?? [];
    if (!Array.isArray(entries)) throw new KubeConfigError(`kubeconfig ${file}: ${list} is not a list`);
    entries.forEach((entry: unknown, i) => {
      const e = (entry ?? {}) as Record<string, unknown>;
      if (typeof e.name !== "string" || !e.name) {
        throw new KubeConfigError(`kubeconfig ${file}: ${list}[${i}].name is missing`);
      }
      const fields = e[key] ?? {};
      if (typeof fields !== "object" || Array.isArray(fields)) {
        throw new KubeConfigError(`kubeconfig ${file}: ${list}[${i}].${key} is not a mapping`);
      }
      if (!into.has(e.name)) into.set(e.name, { name: e.name, file, fields: fields as Record<string, unknown> });
    });
  }
  const current = config["current-context"];
  if (!merged.currentContext && typeof current === "string" && current) merged.currentContext = { name: current, file };
}

function connect(cluster: Named, user: Named | undefined, refreshMs: number): ClusterConnection {
  const serverText = optionalString(cluster, "server");
  if (!serverText) throw new KubeConfigError(`${where(cluster)}: cluster "${cluster.name}" has no server`);
  const server = parseServer(serverText, `${where(cluster)}: cluster "${cluster.name}"`);
  const source = `kubeconfig ${cluster.file}`;
  const u = user?.fields ?? {};
  if (u.exec || u["auth-provider"] || optionalString(cluster, "proxy-url")) {
    return viaClientNode(server, source, cluster, user, refreshMs);
  }
  const insecure = cluster.fields["insecure-skip-tls-verify"] === true;
  const servername = optionalString(cluster, "tls-server-name");
  const ca = material(cluster, "certificate-authority", refreshMs);
  const cert = user && material(user, "client-certificate", refreshMs);
  const key = user && material(user, "client-key", refreshMs);
  if (user && Boolean(cert) !== Boolean(key)) {
    const [has, lacks] = cert ? ["client-certificate", "client-key"] : ["client-key", "client-certificate"];
    throw new KubeConfigError(`${where(user)}: user "${user.name}" has ${has} but no ${lacks}`);
  }
  const headers: Record<string, string> = {};
  let token: RefreshingFile | undefined;
  if (user) {
    const staticToken = optionalString(user, "token");
    const tokenFile = optionalString(user, "tokenFile") ?? optionalString(user, "token-file");
    if (staticToken) headers.Authorization = `Bearer ${staticToken}`;
    else if (tokenFile) token = new RefreshingFile(resolve(user, tokenFile), fieldOf(user, "tokenFile"), refreshMs);
    const username = optionalString(user, "username");
    if (username && !headers.Authorization && !token) {
      const password = optionalString(user, "password") ?? "";
      headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    }
    const impersonate = optionalString(user, "as");
    if (impersonate) headers["Impersonate-User"] = impersonate;
  }
  const base: TlsOptions = {
    ...(insecure && { rejectUnauthorized: false }),
    ...(servername && { servername }),
  };
  return {
    server,
    source,
    async credentials() {
      const [caPem, certPem, keyPem, bearer] = await Promise.all([
        ca?.read(),
        cert?.read(),
        key?.read(),
        token?.read(),
      ]);
      return {
        headers: bearer ? { ...headers, Authorization: `Bearer ${bearer.toString("utf8").trim()}` } : headers,
        tls: { ...base, ca: caPem, cert: certPem, key: keyPem },
      };
    },
  };
}

/** `<field>-data` (base64, wins like in client-go) or `<field>` (a file, re-read like a token file). */
function material(entry: Named, field: string, refreshMs: number): { read(): Promise<Buffer> } | undefined {
  const data = optionalString(entry, `${field}-data`);
  if (data) {
    const value = Buffer.from(data, "base64");
    if (!value.length) throw new KubeConfigError(`${fieldOf(entry, `${field}-data`)} is not base64`);
    return { read: async () => value };
  }
  const file = optionalString(entry, field);
  return file ? new RefreshingFile(resolve(entry, file), fieldOf(entry, field), refreshMs) : undefined;
}

/**
 * Exec and auth-provider plugins and proxies are client-node's job: it is imported on the first
 * request, with the already-merged cluster and user (paths made absolute).
 */
function viaClientNode(
  server: URL,
  source: string,
  cluster: Named,
  user: Named | undefined,
  refreshMs: number,
): ClusterConnection {
  const c = cluster.fields;
  const u = user?.fields ?? {};
  const file = (entry: Named, field: string) => {
    const value = optionalString(entry, field);
    return value ? resolve(entry, value) : undefined;
  };
  const clientNodeCluster: Cluster = {
    name: cluster.name,
    server: server.href.replace(/\/$/, ""),
    caData: optionalString(cluster, "certificate-authority-data"),
    caFile: file(cluster, "certificate-authority"),
    skipTLSVerify: c["insecure-skip-tls-verify"] === true,
    tlsServerName: optionalString(cluster, "tls-server-name"),
    proxyUrl: optionalString(cluster, "proxy-url"),
  };
  const tokenFile = user && (file(user, "tokenFile") ?? file(user, "token-file"));
  const tokenFromFile =
    user && tokenFile ? new RefreshingFile(tokenFile, fieldOf(user, "tokenFile"), refreshMs) : undefined;
  const clientNodeUser = (token: string | undefined): User => ({
    name: user?.name ?? "anonymous",
    token,
    certData: user && optionalString(user, "client-certificate-data"),
    certFile: user && file(user, "client-certificate"),
    keyData: user && optionalString(user, "client-key-data"),
    keyFile: user && file(user, "client-key"),
    authProvider: u["auth-provider"],
    exec: u.exec,
    username: user && optionalString(user, "username"),
    password: user && optionalString(user, "password"),
    impersonateUser: user && optionalString(user, "as"),
  });
  let clientNode: Promise<typeof KubeConfig> | undefined;
  let kubeConfig: KubeConfig | undefined;
  let lastToken: string | undefined;
  return {
    server,
    source,
    async credentials() {
      clientNode ??= import("@kubernetes/client-node").then((m) => m.KubeConfig);
      const KubeConfigClass = await clientNode;
      const token = user
        ? (optionalString(user, "token") ?? (await tokenFromFile?.read())?.toString("utf8").trim())
        : undefined;
      if (!kubeConfig || token !== lastToken) {
        lastToken = token;
        kubeConfig = new KubeConfigClass();
        kubeConfig.loadFromOptions({
          clusters: [clientNodeCluster],
          users: [clientNodeUser(token)],
          contexts: [{ name: "current", cluster: clientNodeCluster.name, user: user?.name ?? "anonymous" }],
          currentContext: "current",
        });
      }
      const options: https.RequestOptions = {};
      await kubeConfig.applyToHTTPSOptions(options);
      return {
        ...credentialsOf(options),
        ...(clientNodeCluster.proxyUrl && typeof options.agent === "object" && { agent: options.agent }),
      };
    },
  };
}

/** The headers and TLS material that client-node's applyToHTTPSOptions put into `options`. */
export function credentialsOf(options: https.RequestOptions): Credentials {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value !== undefined) headers[name] = String(value);
  }
  if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`;
  return {
    headers,
    tls: {
      ca: toBuffer(options.ca),
      cert: toBuffer(options.cert),
      key: toBuffer(options.key),
      ...(options.rejectUnauthorized === false && { rejectUnauthorized: false }),
      ...(options.servername && { servername: options.servername }),
    },
  };
}

function toBuffer(value: unknown): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === "string") return Buffer.from(value);
  if (Array.isArray(value) && value.length) return toBuffer(value[0]);
  return undefined;
}

// ---- helpers ----

/** A file's content, read again once older than the refresh interval; a failed re-read keeps the last one. */
class RefreshingFile {
  readonly #path: string;
  readonly #refreshMs: number;
  #content: Buffer;
  #readAt: number;

  constructor(file: string, what: string, refreshMs: number) {
    this.#path = file;
    this.#refreshMs = refreshMs;
    try {
      this.#content = readFileSync(file);
    } catch (error) {
      throw new KubeConfigError(`${what}: cannot read ${file}: ${(error as Error).message}`);
    }
    this.#readAt = Date.now();
  }

  async read(): Promise<Buffer> {
    if (Date.now() - this.#readAt >= this.#refreshMs) {
      this.#readAt = Date.now(); // one re-read at a time
      try {
        this.#content = await readFile(this.#path);
      } catch {
        // Rotation swaps the file atomically; a missing file is retried at the next interval.
      }
    }
    return this.#content;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function parseServer(text: string, what: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === "https:" || url.protocol === "http:") return url;
  } catch {
    // reported below
  }
  throw new KubeConfigError(`${what}: invalid server "${text}" (want an http(s) URL)`);
}

function optionalString(entry: Named, field: string): string | undefined {
  const value = entry.fields[field];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new KubeConfigError(`${fieldOf(entry, field)} is not a string`);
  return value;
}

/** kubectl's rule: a relative path is relative to the directory of the file that names it. */
function resolve(entry: Named, file: string): string {
  return path.resolve(path.dirname(entry.file), file);
}

function where(entry: Named): string {
  return `kubeconfig ${entry.file}`;
}

function fieldOf(entry: Named, field: string): string {
  return `${where(entry)}: ${field} of "${entry.name}"`;
}
