import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveBinaries } from "./control-plane/binaries.ts";
import { BinariesError } from "./errors.ts";
import type { KubectlResult } from "./kubectl.ts";

let binary: Promise<string> | undefined;
let home: string | undefined;

/** The pinned helm, found the way every other binary is (PATH, KUBEBUILDER_ASSETS, then the build cache). */
export function helmBinary(): Promise<string> {
  binary ??= resolveBinaries(() => {}).then(({ helm }) => {
    if (!helm) throw new BinariesError("hack/control-plane-bins.sh printed no helm");
    return helm;
  });
  return binary;
}

/** Runs the real helm against the test cluster. */
export async function helm(kubeconfig: string, args: string[]): Promise<KubectlResult> {
  const path = await helmBinary();
  // Helm's cache, config and data in a directory of the process's own, not the user's.
  home ??= mkdtempSync(join(tmpdir(), "clawcrew-helm-"));
  const dir = home;
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, {
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        HELM_CACHE_HOME: join(dir, "cache"),
        HELM_CONFIG_HOME: join(dir, "config"),
        HELM_DATA_HOME: join(dir, "data"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
