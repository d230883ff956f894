/** Builds the node's images (hack/images.sh) and imports them into containerd's k8s.io namespace. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { run } from "../command.ts";
import { parseBinariesOutput } from "../control-plane/binaries.ts";
import { RealNodeError } from "../errors.ts";
import { CONTAINERD_NAMESPACE } from "./config.ts";

export const IMAGES_SCRIPT = fileURLToPath(new URL("../../hack/images.sh", import.meta.url));

/** Image name → docker-archive path, as hack/images.sh prints them. */
export type ImageArchives = Record<string, string>;

/** Runs hack/images.sh, passing its progress lines to `log`; minutes on a cold cache, seconds warm. */
export function buildImages(log: (line: string) => void): Promise<ImageArchives> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [IMAGES_SCRIPT], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let tail: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      for (const line of chunk.split("\n").filter(Boolean)) {
        if (line.startsWith("[images]")) log(line);
        tail = [...tail, line].slice(-30);
      }
    });
    child.once("error", (error) => reject(new RealNodeError(`cannot run ${IMAGES_SCRIPT}: ${error.message}`)));
    child.once("close", (code) => {
      if (code !== 0) reject(new RealNodeError(`${IMAGES_SCRIPT} failed (code ${code})\n${tail.join("\n")}`));
      else resolve(parseBinariesOutput(stdout));
    });
  });
}

/** Imports every archive; ctr unpacks each into the overlayfs snapshotter the CRI plugin uses. */
export async function importImages(containerdSocket: string, archives: ImageArchives): Promise<void> {
  for (const archive of Object.values(archives)) {
    await run("ctr", ["--address", containerdSocket, "-n", CONTAINERD_NAMESPACE, "images", "import", archive], 600_000);
  }
}
