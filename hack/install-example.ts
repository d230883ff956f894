/**
 * Installs clawcrew and an example on a cluster that already has the images (hack/kind.sh uses it):
 * the stub LLM unless ANTHROPIC_API_KEY or OPENAI_API_KEY is set, `helm install` of the chart, and the example.
 *
 *   node hack/install-example.ts --kubeconfig <path> [--example <dir>]
 */
import { parseArgs } from "node:util";
import { installWithExample } from "../harness/real-node/index.ts";

const { values } = parseArgs({
  options: { kubeconfig: { type: "string" }, example: { type: "string", default: "ceo" } },
});
if (!values.kubeconfig) {
  process.stderr.write("usage: node hack/install-example.ts --kubeconfig <path> [--example <dir>]\n");
  process.exit(2);
}
await installWithExample(values.kubeconfig, values.example, (m) => process.stderr.write(`[install] ${m}\n`));
