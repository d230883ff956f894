/** The pinned OpenClaw for e2e tests, installed by hack/openclaw.sh on first use. */
import { execFileSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

let entry: string | undefined;

/** Path of the pinned openclaw.mjs (run it with process.execPath, which is Node 24 under vitest here). */
export function openclawEntry(): string {
  entry ??= execFileSync(fileURLToPath(new URL("../../hack/openclaw.sh", import.meta.url)), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  return entry;
}

/** The installed package, the stand-in for the image's /app. */
export function openclawPackageDir(): string {
  return dirname(openclawEntry());
}
