// Writes crds/*.yaml (and the Helm chart's copy) from the zod schemas in src/api.
//   node hack/gen-crds.ts          regenerate
//   node hack/gen-crds.ts --check  exit 1 when a committed file is stale
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { customResourceDefinition } from "../src/api/crd.ts";
import { KINDS } from "../src/api/kinds.ts";

const root = join(import.meta.dirname, "..");
const targets = ["crds", "charts/clawcrew/crds"];
// The document marker keeps `helm show crds`, which concatenates the files, a valid YAML stream.
const header = "# Generated from src/api by hack/gen-crds.ts. Do not edit.\n---\n";
const check = process.argv.includes("--check");

let stale = 0;
for (const def of KINDS) {
  const crd = customResourceDefinition(def);
  const text = header + yaml.dump(crd, { lineWidth: -1, noRefs: true, sortKeys: false });
  for (const dir of targets) {
    const file = join(root, dir, `${crd.metadata.name}.yaml`);
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {}
    if (current === text) continue;
    if (check) {
      console.error(`stale: ${dir}/${crd.metadata.name}.yaml differs from src/api; run npm run gen:crds`);
      stale++;
    } else {
      writeFileSync(file, text);
      console.log(`wrote ${dir}/${crd.metadata.name}.yaml`);
    }
  }
}
process.exit(stale ? 1 : 0);
