/**
 * How GitOps tools judge an object's health, with their own code: kstatus's verdict (what Flux
 * reads) and the verdict of an Argo CD Lua health check from deploy/argocd/health, both from the
 * Go helper in harness/gitops-health, built once into the cache and keyed by its sources.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GitopsHealthError } from "./errors.ts";
import type { Obj } from "./kube.ts";

const SOURCE_DIR = fileURLToPath(new URL("./gitops-health", import.meta.url));
const HEALTH_DIR = fileURLToPath(new URL("../deploy/argocd/health", import.meta.url));
const BUILD_TIMEOUT_MS = 10 * 60_000;

export interface HealthVerdict {
  status: string;
  message: string;
}

/** kstatus statuses: Current, InProgress, Failed, Terminating, NotFound, Unknown. */
export type KstatusStatus = "Current" | "InProgress" | "Failed" | "Terminating" | "NotFound" | "Unknown";
/** Argo CD health statuses. */
export type ArgoHealthStatus = "Healthy" | "Progressing" | "Degraded" | "Suspended" | "Missing" | "Unknown";

function cacheDir(): string {
  return process.env.CLAWCREW_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "clawcrew");
}

function exec(file: string, args: string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv }) {
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env, timeout: BUILD_TIMEOUT_MS, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) reject(new GitopsHealthError(`${file} ${args.join(" ")} failed: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}

let built: Promise<string> | undefined;

/** The helper's path; built on first use (a cold build fetches its modules and takes a minute). */
export function gitopsHealthBinary(): Promise<string> {
  built ??= (async () => {
    const hash = createHash("sha256");
    for (const file of readdirSync(SOURCE_DIR).sort()) hash.update(file).update(readFileSync(join(SOURCE_DIR, file)));
    const bin = join(cacheDir(), "bin");
    const path = join(bin, `gitops-health-${hash.digest("hex").slice(0, 12)}`);
    if (existsSync(path)) return path;
    mkdirSync(bin, { recursive: true });
    // Built beside its final name and renamed, so a concurrent or interrupted build never leaves half a binary.
    const partial = `${path}.${process.pid}.partial`;
    const env = { ...process.env, GOFLAGS: "-mod=mod -buildvcs=false", CGO_ENABLED: "0", GOTOOLCHAIN: "local" };
    await exec("go", ["build", "-trimpath", "-o", partial, "."], { cwd: SOURCE_DIR, env });
    renameSync(partial, path);
    return path;
  })();
  return built;
}

async function verdict(args: string[], object: Obj): Promise<HealthVerdict> {
  const out = await exec(await gitopsHealthBinary(), args, { input: JSON.stringify(object) });
  return JSON.parse(out) as HealthVerdict;
}

/** kstatus's verdict (sigs.k8s.io/cli-utils status.Compute) on the object. */
export function kstatus(object: Obj): Promise<HealthVerdict & { status: KstatusStatus }> {
  return verdict(["kstatus"], object) as Promise<HealthVerdict & { status: KstatusStatus }>;
}

/** The verdict of deploy/argocd/health/<kind>.lua on the object, run as Argo CD runs it. */
export function argoHealth(object: Obj): Promise<HealthVerdict & { status: ArgoHealthStatus }> {
  const script = join(HEALTH_DIR, `${object.kind}.lua`);
  return verdict(["lua", script], object) as Promise<HealthVerdict & { status: ArgoHealthStatus }>;
}
