// Generated Agents and AgentTeams, valid and invalid, applied to the real API server with the operator
// running. Each is refused at admission naming a field, or reconciled to a status that says what is
// wrong. After each batch the operator still reconciles a known-good Agent, and its heap is back near
// its baseline. CLAWCREW_FUZZ_RUNS scales the number of objects (runs / 10, at least 20).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  condition,
  eventually,
  installCrds,
  kubectl,
  kubectlIn,
  kubectlOk,
  type Obj,
  type OperatorProcess,
  startOperator,
  uniqueName,
} from "../../harness/index.ts";
import { agentObject, invalidAgent, invalidTeam, teamObject } from "../fuzz/arbitraries.ts";
import { FUZZ_RUNS, FUZZ_SEED } from "../fuzz/runs.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("fuzz");
const { getJson, applyObj } = kubectlIn(kubeconfig, ns);
let operator: OperatorProcess;

const OBJECTS = Math.max(20, Math.round(FUZZ_RUNS / 10));
const BATCHES = 2;
/** Loose: a heap within this factor of its baseline after a batch is "back near it". */
const HEAP_RATIO_BOUND = 3;

/** Pods are cheap here but not free: the generated swarms are cut to two replicas. */
function small(obj: Obj): Obj {
  if (obj?.kind !== "Agent" || typeof obj.spec !== "object" || obj.spec === null) return obj;
  const { scaling: _scaling, ...spec } = obj.spec as Obj;
  return { ...obj, spec: { ...spec, ...(typeof spec.replicas === "number" && { replicas: spec.replicas % 3 }) } };
}

/** Generated objects of this batch, each with a name of its own, in the test namespace. */
function batch(index: number): Obj[] {
  const renamed = (obj: Obj, i: number): Obj => ({
    ...obj,
    metadata: { name: `${obj.kind === "Agent" ? "a" : "t"}${index}-${i}` },
  });
  const objects = fc.oneof(
    agentObject(),
    teamObject(),
    invalidAgent.filter((o) => typeof o === "object" && o !== null && o.kind === "Agent"),
    invalidTeam.filter((o) => typeof o === "object" && o !== null && o.kind === "AgentTeam"),
  );
  return fc
    .sample(objects, { numRuns: OBJECTS / BATCHES, seed: FUZZ_SEED + index })
    .map((o, i) => small(renamed(o, i)));
}

async function heapUsedBytes(): Promise<number> {
  const text = await (await fetch(`http://${operator.metrics()}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("nodejs_heap_size_used_bytes "));
  return Number(line?.split(" ")[1]);
}

async function canaryReconciles(round: number): Promise<void> {
  const soul = `# canary ${round}`;
  await applyObj({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name: "canary" },
    spec: { soul, model: { primary: "openai/gpt-5" } },
  });
  await eventually(`canary reconciled (round ${round})`, async () => {
    const cm = await getJson("configmap/canary-config");
    return cm?.data?.["workspace__SOUL.md"] === soul ? true : undefined;
  });
}

/** What the operator wrote about an object it accepted: its status at the current generation. */
async function reconciledStatus(kind: string, name: string): Promise<Obj> {
  return eventually(
    `${kind} ${name} reconciled`,
    async () => {
      const obj = await getJson(`${kind.toLowerCase()}/${name}`);
      const type = kind === "Agent" ? "ConfigValid" : "Ready";
      const c = condition(obj, type);
      return obj?.status?.observedGeneration === obj?.metadata?.generation && c ? obj : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  operator = await startOperator(kubeconfig, `${ns}-op`, [`--namespace=${ns}`, `--leader-election-namespace=${ns}`]);
});

afterAll(async () => {
  await operator?.stop();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("generated specs against the real API server", () => {
  it("are refused naming a field, or reconciled to a status; the operator lives and its heap settles", async () => {
    await canaryReconciles(0);
    const baseline = await heapUsedBytes();
    const outcomes = { refused: 0, reconciled: 0, reportedProblem: 0 };
    for (let b = 0; b < BATCHES; b++) {
      const accepted: Obj[] = [];
      for (const obj of batch(b)) {
        const result = await kubectl(kubeconfig, ["-n", ns, "apply", "-f", "-"], obj);
        if (result.code === 0) {
          accepted.push(obj);
          continue;
        }
        outcomes.refused++;
        // The API server names the field: spec.x, metadata.name, or the unknown/missing field.
        expect(result.stderr, JSON.stringify(obj).slice(0, 500)).toMatch(/\b(spec|metadata|kind|apiVersion)\b/);
      }
      for (const obj of accepted) {
        const name = (obj.metadata as Obj).name as string;
        const status = await reconciledStatus(obj.kind as string, name);
        outcomes.reconciled++;
        const problem = (status.status.conditions as Obj[]).find(
          (c) =>
            (c.type === "ConfigValid" || c.type === "Degraded") &&
            c.status !== (c.type === "Degraded" ? "False" : "True"),
        );
        if (problem) {
          outcomes.reportedProblem++;
          expect(problem.reason).toMatch(/^[A-Z][A-Za-z]+$/);
          expect(String(problem.message).length).toBeGreaterThan(0);
        }
      }
      expect(operator.child.exitCode).toBeNull();
      await canaryReconciles(b + 1);
      const heap = await heapUsedBytes();
      console.log(
        `batch ${b}: heap ${(heap / 2 ** 20).toFixed(1)} MiB, baseline ${(baseline / 2 ** 20).toFixed(1)} MiB`,
      );
      expect(heap / baseline).toBeLessThan(HEAP_RATIO_BOUND);
    }
    console.log(`outcomes: ${JSON.stringify(outcomes)}`);
    expect(outcomes.refused + outcomes.reconciled).toBe(OBJECTS);
  });
});
