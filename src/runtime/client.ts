/**
 * A small JSON client for the Kubernetes REST API on node:http(s), authenticated from a
 * ClusterConnection (kubeconfig.ts: tokens, client certificates, and exec plugins through a lazily
 * loaded client-node). It exists because the runtime needs what the generated clients do not give:
 * any group/version/resource, per-request AbortSignals and timeouts, query parameters such as
 * `fieldValidation`, and the raw watch stream.
 */
import http from "node:http";
import https from "node:https";
import { errorFromResponse, isNotFound, toKubeApiError } from "./errors.ts";
import { type ClusterConnection, type Credentials, type LoadOptions, loadClusterConnection } from "./kubeconfig.ts";
import { RestMapper } from "./restmapper.ts";
import { TlsAgents } from "./tls-agent.ts";

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** Serialized as JSON. */
  body?: unknown;
  /** Default `application/json` when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
  /** Overrides the client's default timeout; 0 disables it. */
  timeoutMs?: number;
  /** The Accept header; default `application/json`. */
  accept?: string;
}

export interface KubeClientOptions {
  /** Default time limit of a non-watch request. Default 30 s. */
  timeoutMs?: number;
  userAgent?: string;
}

export class KubeClient {
  readonly connection: ClusterConnection;
  readonly server: URL;
  readonly mapper: RestMapper;
  /** The server URL without a trailing slash: request paths are appended (a server may have a path prefix). */
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  // Our own keep-alive agents; the connection supplies one only for a cluster behind a proxy-url.
  readonly #httpAgent = new http.Agent({ keepAlive: true });
  readonly #tlsAgents = new TlsAgents();

  constructor(connection: ClusterConnection, options: KubeClientOptions = {}) {
    this.connection = connection;
    this.server = connection.server;
    this.#base = connection.server.href.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? "clawcrew-operator";
    this.mapper = new RestMapper((path, signal) => this.request("GET", path, { signal }));
  }

  /**
   * A client for `options.kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`, else the pod's
   * service account (see loadClusterConnection). Throws KubeConfigError when none can be used.
   */
  static load(options: LoadOptions & KubeClientOptions = {}): KubeClient {
    return new KubeClient(loadClusterConnection(options), options);
  }

  /** Sends one request and returns the parsed JSON body (undefined when empty). */
  async request<T = unknown>(verb: string, path: string, options: RequestOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    // Not AbortSignal.timeout: its timer and signal would live for the whole timeout after the
    // response (thousands at a few hundred requests per second); this one ends with the request.
    const controller = new AbortController();
    const caller = options.signal;
    const onCallerAbort = () => controller.abort(caller?.reason);
    if (caller?.aborted) controller.abort(caller.reason);
    else caller?.addEventListener("abort", onCallerAbort, { once: true });
    const timer =
      timeoutMs > 0
        ? setTimeout(
            () => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
            Math.ceil(timeoutMs),
          )
        : undefined;
    const signal = controller.signal;
    let res: http.IncomingMessage;
    let text: string;
    try {
      res = await this.#send(verb, path, options, signal);
      text = await readBody(res);
    } catch (error) {
      // An abort surfaces as a reset socket; report the abort's reason (e.g. TimeoutError) instead.
      throw toKubeApiError(signal.aborted ? signal.reason : error, { verb, path });
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener("abort", onCallerAbort);
    }
    const statusCode = res.statusCode ?? 0;
    const isJson = (res.headers["content-type"] ?? "").includes("json");
    const body: unknown = isJson && text ? (safeParse(text) ?? text) : text;
    if (statusCode < 200 || statusCode > 299) throw errorFromResponse(statusCode, body, { verb, path }, res.headers);
    return (text ? body : undefined) as T;
  }

  get<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("GET", path, options);
  }

  /** GET, resolving undefined when the object does not exist (404). */
  async getIfExists<T = unknown>(path: string, options?: RequestOptions): Promise<T | undefined> {
    try {
      return await this.get<T>(path, options);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Opens a watch (`?watch=1` is added) and resolves with the response stream once the server
   * answered 200; any other status rejects with KubeApiError. No timeout: abort `signal` to end it.
   */
  async watch(path: string, query: Query, signal: AbortSignal, accept?: string): Promise<http.IncomingMessage> {
    const res = await this.#send("GET", path, { query: { ...query, watch: 1 }, ...(accept && { accept }) }, signal);
    if (res.statusCode === 200) return res;
    const text = await readBody(res).catch(() => "");
    throw errorFromResponse(res.statusCode ?? 0, safeParse(text) ?? text, { verb: "WATCH", path }, res.headers);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#httpAgent.destroy();
    this.#tlsAgents.destroy();
  }

  async #send(
    verb: string,
    path: string,
    options: RequestOptions,
    signal: AbortSignal | undefined,
  ): Promise<http.IncomingMessage> {
    const url = new URL(this.#base + (path.startsWith("/") ? path : `/${path}`));
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    let credentials: Credentials;
    try {
      credentials = await this.connection.credentials();
    } catch (error) {
      throw toKubeApiError(error, { verb, path });
    }
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: http.OutgoingHttpHeaders = {
      ...credentials.headers,
      accept: options.accept ?? "application/json",
      "user-agent": this.#userAgent,
    };
    if (payload !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
      headers["content-length"] = Buffer.byteLength(payload);
    }
    const secure = url.protocol === "https:";
    const requestOptions: https.RequestOptions = { method: verb, headers, signal };
    if (credentials.agent) Object.assign(requestOptions, credentials.tls, { agent: credentials.agent });
    else requestOptions.agent = secure ? this.#tlsAgents.agentFor(credentials.tls) : this.#httpAgent;
    const transport = secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, requestOptions, resolve);
      req.on("error", (error) => reject(toKubeApiError(error, { verb, path })));
      req.end(payload);
    });
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => {
      ended = true;
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    res.on("error", reject);
    res.on("close", () => {
      if (!ended) reject(new Error("connection closed before the response body ended"));
    });
  });
}
