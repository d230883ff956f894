// Writes the values table of charts/clawcrew/README.md from values.schema.json and values.yaml.
//   node hack/gen-chart-docs.ts          regenerate
//   node hack/gen-chart-docs.ts --check  exit 1 when the README is stale
import { writeFileSync } from "node:fs";
import { README, readChart, valuesTable, withTable } from "./chart-docs.ts";

const { schema, values, readme } = readChart();
const next = withTable(readme, valuesTable(schema, values));
if (next === readme) process.exit(0);
if (process.argv.includes("--check")) {
  console.error(`stale: ${README} differs from values.schema.json and values.yaml; run npm run gen:chart-docs`);
  process.exit(1);
}
writeFileSync(README, next);
console.log(`wrote ${README}`);
