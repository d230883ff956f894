import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { dump } from "js-yaml";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { KubeClient } from "../../../src/runtime/client.ts";
import { KubeConfigError, loadClusterConnection } from "../../../src/runtime/kubeconfig.ts";

const repoRoot = path.resolve(import.meta.dirname, "../../..");
const root = mkdtempSync(path.join(tmpdir(), "clawcrew-kubeconfig-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dir: string;
let counter = 0;
beforeEach(() => {
  dir = path.join(root, String(++counter));
  mkdirSync(dir);
});

const b64 = (text: string) => Buffer.from(text).toString("base64");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `content` to dir/name (YAML when it is an object) and returns the path. */
function write(name: string, content: unknown): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof content === "string" ? content : dump(content));
  return file;
}

interface Entry {
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
  context?: string;
}

/** A kubeconfig with one cluster `c`, user `u` and context `ctx` (current). */
function kubeconfig({ cluster = {}, user = {}, context = "ctx" }: Entry = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster: { server: "https://10.0.0.1:6443", ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    "current-context": context,
  };
}

/** Loads with an environment that has none of the machine's own configuration. */
function load(options: { kubeconfig?: string; env?: Record<string, string>; serviceAccountDir?: string } = {}) {
  return loadClusterConnection({
    serviceAccountDir: path.join(dir, "no-service-account"),
    ...options,
    env: { HOME: path.join(dir, "home"), ...options.env },
  });
}

function loadError(options: Parameters<typeof load>[0]): KubeConfigError {
  try {
    load(options);
  } catch (error) {
    expect(error).toBeInstanceOf(KubeConfigError);
    return error as KubeConfigError;
  }
  throw new Error("expected KubeConfigError");
}

describe("kubeconfig files", () => {
  it("reads server, CA data and a bearer token", async () => {
    const file = write(
      "config",
      kubeconfig({ cluster: { "certificate-authority-data": b64("CA") }, user: { token: "t0" } }),
    );
    const connection = load({ kubeconfig: file });
    expect(connection.server.href).toBe("https://10.0.0.1:6443/");
    expect(connection.source).toBe(`kubeconfig ${file}`);
    const credentials = await connection.credentials();
    expect(credentials.headers).toEqual({ Authorization: "Bearer t0" });
    expect(credentials.tls.ca?.toString()).toBe("CA");
    expect(credentials.tls.rejectUnauthorized).toBeUndefined();
    expect(credentials.agent).toBeUndefined();
  });

  it("re-reads a tokenFile (relative to the kubeconfig's directory) once the refresh interval passed", async () => {
    write("secrets/token", "first\n");
    const file = write("config", kubeconfig({ user: { tokenFile: "secrets/token" } }));
    const connection = loadClusterConnection({ kubeconfig: file, refreshIntervalMs: 300 });
    expect((await connection.credentials()).headers.Authorization).toBe("Bearer first");
    write("secrets/token", "second\n");
    expect((await connection.credentials()).headers.Authorization).toBe("Bearer first");
    await sleep(350);
    expect((await connection.credentials()).headers.Authorization).toBe("Bearer second");
  });

  it("takes client certificates from -data or from files relative to the kubeconfig", async () => {
    const fromData = load({
      kubeconfig: write(
        "data.yaml",
        kubeconfig({ user: { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") } }),
      ),
    });
    const data = await fromData.credentials();
    expect([data.tls.cert?.toString(), data.tls.key?.toString()]).toEqual(["CERT", "KEY"]);
    expect(data.headers).toEqual({});

    write("pki/ca.crt", "CA FILE");
    write("pki/client.crt", "CERT FILE");
    write("pki/client.key", "KEY FILE");
    const fromFiles = load({
      kubeconfig: write(
        "nested/config",
        kubeconfig({
          cluster: { "certificate-authority": "../pki/ca.crt" },
          user: { "client-certificate": "../pki/client.crt", "client-key": path.join(dir, "pki/client.key") },
        }),
      ),
    });
    const files = await fromFiles.credentials();
    expect([files.tls.ca, files.tls.cert, files.tls.key].map(String)).toEqual(["CA FILE", "CERT FILE", "KEY FILE"]);
  });

  it("names the file and field when a certificate file is missing or the key is", () => {
    const missing = write("missing.yaml", kubeconfig({ cluster: { "certificate-authority": "nope.crt" } }));
    expect(loadError({ kubeconfig: missing }).message).toBe(
      `kubeconfig ${missing}: certificate-authority of "c": cannot read ${path.join(dir, "nope.crt")}: ENOENT: no such file or directory, open '${path.join(dir, "nope.crt")}'`,
    );
    const noKey = write("nokey.yaml", kubeconfig({ user: { "client-certificate-data": b64("CERT") } }));
    expect(loadError({ kubeconfig: noKey }).message).toBe(
      `kubeconfig ${noKey}: user "u" has client-certificate but no client-key`,
    );
  });

  it("sends basic auth, impersonation, insecure-skip-tls-verify and tls-server-name", async () => {
    const file = write(
      "config",
      kubeconfig({
        cluster: { "insecure-skip-tls-verify": true, "tls-server-name": "kubernetes.default" },
        user: { username: "admin", password: "s3cret", as: "jane" },
      }),
    );
    const credentials = await load({ kubeconfig: file }).credentials();
    expect(credentials.headers).toEqual({
      Authorization: `Basic ${b64("admin:s3cret")}`,
      "Impersonate-User": "jane",
    });
    expect(credentials.tls).toMatchObject({ rejectUnauthorized: false, servername: "kubernetes.default" });
  });

  it("merges a KUBECONFIG list like kubectl: the first definition of a name and of current-context wins", async () => {
    const first = write("a.yaml", {
      clusters: [{ name: "shared", cluster: { server: "https://first:6443" } }],
      users: [{ name: "shared-user", user: { token: "from-a" } }],
    });
    const second = write("b.yaml", {
      clusters: [{ name: "shared", cluster: { server: "https://second:6443" } }],
      users: [{ name: "shared-user", user: { token: "from-b" } }],
      contexts: [{ name: "b-ctx", context: { cluster: "shared", user: "shared-user" } }],
      "current-context": "b-ctx",
    });
    const third = write("c.yaml", {
      contexts: [{ name: "c-ctx", context: { cluster: "shared", user: "shared-user" } }],
      "current-context": "c-ctx",
    });
    const missing = path.join(dir, "missing.yaml");
    const connection = load({ env: { KUBECONFIG: [first, missing, second, third].join(path.delimiter) } });
    expect(connection.server.host).toBe("first:6443");
    expect((await connection.credentials()).headers.Authorization).toBe("Bearer from-a");

    expect(loadError({ env: { KUBECONFIG: missing } }).message).toBe(`KUBECONFIG=${missing}: none of its files exists`);
  });

  it("names the file and the name when the context, cluster or user is not defined", () => {
    const noContext = write("ctx.yaml", kubeconfig({ context: "foo" }));
    expect(loadError({ kubeconfig: noContext }).message).toBe(`kubeconfig ${noContext}: context "foo" not found`);

    const noCluster = write("cluster.yaml", { ...kubeconfig(), clusters: [] });
    expect(loadError({ kubeconfig: noCluster }).message).toBe(
      `kubeconfig ${noCluster}: cluster "c" of context "ctx" not found`,
    );

    const noUser = write("user.yaml", { ...kubeconfig(), users: [] });
    expect(loadError({ kubeconfig: noUser }).message).toBe(`kubeconfig ${noUser}: user "u" of context "ctx" not found`);

    const noCurrent = write("current.yaml", { ...kubeconfig(), "current-context": "" });
    expect(loadError({ kubeconfig: noCurrent }).message).toBe(`kubeconfig ${noCurrent}: current-context is not set`);

    const badServer = write("server.yaml", kubeconfig({ cluster: { server: "10.0.0.1:6443" } }));
    expect(loadError({ kubeconfig: badServer }).message).toBe(
      `kubeconfig ${badServer}: cluster "c": invalid server "10.0.0.1:6443" (want an http(s) URL)`,
    );

    const absent = path.join(dir, "absent");
    expect(loadError({ kubeconfig: absent }).message).toMatch(`kubeconfig ${absent}: cannot read: ENOENT`);
  });

  it("looks in --kubeconfig, then KUBECONFIG, then ~/.kube/config, then the service account", async () => {
    const sa = path.join(dir, "sa");
    write("sa/token", "sa-token");
    write("sa/ca.crt", "SA CA");
    const inClusterEnv = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    expect(load({ env: inClusterEnv, serviceAccountDir: sa }).source).toBe("in-cluster");

    const home = write("home/.kube/config", kubeconfig({ user: { token: "home" } }));
    expect(load({ env: inClusterEnv, serviceAccountDir: sa }).source).toBe(`kubeconfig ${home}`);

    const listed = write("listed.yaml", kubeconfig({ user: { token: "listed" } }));
    expect(load({ env: { ...inClusterEnv, KUBECONFIG: listed }, serviceAccountDir: sa }).source).toBe(
      `kubeconfig ${listed}`,
    );

    const explicit = write("explicit.yaml", kubeconfig({ user: { token: "explicit" } }));
    const connection = load({ kubeconfig: explicit, env: { KUBECONFIG: listed } });
    expect((await connection.credentials()).headers.Authorization).toBe("Bearer explicit");

    rmSync(home);
    expect(loadError({}).message).toMatch(/^no configuration found: pass --kubeconfig, set KUBECONFIG/);
  });
});

describe("in-cluster", () => {
  it("uses the service account's CA and re-reads its rotating token", async () => {
    write("sa/token", "token-1");
    write("sa/ca.crt", "CLUSTER CA");
    const connection = loadClusterConnection({
      env: { HOME: path.join(dir, "home"), KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
      serviceAccountDir: path.join(dir, "sa"),
      refreshIntervalMs: 300,
    });
    expect(connection.server.href).toBe("https://[fd00::1]/");
    const first = await connection.credentials();
    expect(first.headers).toEqual({ Authorization: "Bearer token-1" });
    expect(first.tls.ca?.toString()).toBe("CLUSTER CA");

    write("sa/token", "token-2");
    expect((await connection.credentials()).headers.Authorization).toBe("Bearer token-1");
    await sleep(350);
    expect((await connection.credentials()).headers.Authorization).toBe("Bearer token-2");
  });

  it("keeps the port and requires the service environment", () => {
    write("sa/token", "t");
    write("sa/ca.crt", "CA");
    const serviceAccountDir = path.join(dir, "sa");
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "6443" };
    expect(load({ env, serviceAccountDir }).server.href).toBe("https://10.96.0.1:6443/");
    expect(loadError({ serviceAccountDir }).message).toBe(
      "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set",
    );
  });
});

describe("exec credential plugins", () => {
  it("are handed to client-node's KubeConfig (imported on the first request), and the plugin's token is sent", async () => {
    const credential = {
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "from-exec-plugin" },
    };
    const file = write(
      "config",
      kubeconfig({
        cluster: { "certificate-authority-data": b64("CA") },
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1",
            command: process.execPath,
            args: ["-e", `process.stdout.write(${JSON.stringify(JSON.stringify(credential))})`],
            interactiveMode: "Never",
          },
        },
      }),
    );
    const connection = load({ kubeconfig: file });
    const credentials = await connection.credentials();
    expect(credentials.headers.Authorization).toBe("Bearer from-exec-plugin");
    expect(credentials.tls.ca?.toString()).toBe("CA");
    expect(credentials.agent).toBeUndefined();
  });
});

describe("KubeClient over a loaded connection", () => {
  it("sends the credentials and keeps the server's path prefix", async () => {
    const seen: { url?: string; headers: IncomingHttpHeaders }[] = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ kind: "APIVersions", versions: ["v1"] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    write("token", "file-token");
    const file = write(
      "config",
      kubeconfig({ cluster: { server: `http://127.0.0.1:${port}/clusters/x/` }, user: { tokenFile: "token" } }),
    );
    const client = KubeClient.load({ kubeconfig: file, userAgent: "kubeconfig-test" });
    try {
      expect(await client.get("/api")).toEqual({ kind: "APIVersions", versions: ["v1"] });
    } finally {
      client.close();
      server.close();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe("/clusters/x/api");
    expect(seen[0]!.headers).toMatchObject({ authorization: "Bearer file-token", "user-agent": "kubeconfig-test" });
  });

  it("ends a request at its time limit or the caller's abort, and keeps no timer after an answer", async () => {
    const server = createServer((req, res) => {
      if (req.url === "/fast") res.end("{}");
      // /slow never answers
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const file = write("config", kubeconfig({ cluster: { server: `http://127.0.0.1:${port}` }, user: { token: "t" } }));
    const client = KubeClient.load({ kubeconfig: file, timeoutMs: 60_000 });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    try {
      const before = timers();
      for (let i = 0; i < 20; i++) await client.get("/fast");
      expect(timers()).toBe(before); // each 60 s timer was cleared when its answer came

      await expect(client.get("/slow", { timeoutMs: 100 })).rejects.toMatchObject({ statusCode: 0, reason: "Timeout" });
      const caller = new AbortController();
      const pending = client.get("/slow", { signal: caller.signal });
      caller.abort();
      await expect(pending).rejects.toMatchObject({ statusCode: 0, reason: "Aborted" });
    } finally {
      client.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("the operator's import graph", () => {
  it("does not load @kubernetes/client-node", async () => {
    // Every runtime module, then main.ts with an unknown flag: that resolves all of the operator's static imports and exits 2.
    const runtimeModules = readdirSync(path.join(repoRoot, "src/runtime"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `src/runtime/${f}`);
    const script = `
      import { registerHooks } from "node:module";
      const urls = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
      process.on("exit", () => process.stdout.write(JSON.stringify(urls)));
      for (const m of ${JSON.stringify([...runtimeModules, "src/operator/operator.ts"])}) {
        await import(new URL(m, ${JSON.stringify(`file://${repoRoot}/`)}).href);
      }
      process.argv = [process.execPath, "main.ts", "--no-such-flag"];
      await import(new URL("src/main.ts", ${JSON.stringify(`file://${repoRoot}/`)}).href);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd: repoRoot,
    }).catch((error: { code?: number; stdout: string; stderr: string }) => {
      expect(error.stderr).toContain("--no-such-flag");
      return error;
    });
    const urls = JSON.parse(stdout) as string[];
    expect(urls).toContain(`file://${repoRoot}/src/main.ts`);
    expect(urls).toContain(`file://${repoRoot}/src/runtime/client.ts`);
    // The first few are enough to see which import pulled it in.
    expect(urls.filter((url) => url.includes("@kubernetes/client-node")).slice(0, 3)).toEqual([]);
  });
});
