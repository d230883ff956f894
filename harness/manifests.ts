import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";

export const repoRoot = join(import.meta.dirname, "..");

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Every document of every YAML file under examples/, with the file it came from. */
export function exampleManifests(): { file: string; manifest: Manifest }[] {
  const dir = join(repoRoot, "examples");
  const out: { file: string; manifest: Manifest }[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (!entry.endsWith(".yaml")) continue;
    for (const doc of yaml.loadAll(readFileSync(join(dir, entry), "utf8"))) {
      if (doc) out.push({ file: entry, manifest: doc as Manifest });
    }
  }
  return out;
}
