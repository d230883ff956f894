import { spawn } from "node:child_process";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { KubectlError } from "./errors.ts";
import { repoRoot } from "./manifests.ts";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against the test cluster; `input` is sent on stdin (objects are dumped as YAML). */
export function kubectl(kubeconfig: string, args: string[], input?: unknown): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("kubectl", args, { env: { ...process.env, KUBECONFIG: kubeconfig } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    const text = input === undefined ? "" : typeof input === "string" ? input : yaml.dump(input, { lineWidth: -1 });
    child.stdin.end(text);
  });
}

/** Like kubectl(), but throws KubectlError, with kubectl's stderr, when it fails. */
export async function kubectlOk(kubeconfig: string, args: string[], input?: unknown): Promise<string> {
  const result = await kubectl(kubeconfig, args, input);
  if (result.code !== 0) throw new KubectlError(args, result.code, result.stderr);
  return result.stdout;
}

/** Installs the clawcrew CRDs from crds/ and waits until they are served. */
export async function installCrds(kubeconfig: string): Promise<void> {
  await kubectlOk(kubeconfig, ["apply", "--server-side", "-f", join(repoRoot, "crds")]);
  await kubectlOk(kubeconfig, [
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd",
    "-l",
    "app.kubernetes.io/part-of=clawcrew",
  ]);
}
