/**
 * Every example applies cleanly to the real API server with the CRDs installed: server-side apply with
 * strict field validation, each into its own namespace, no warning, and every object is stored as written
 * (nothing pruned or defaulted away: the tool policies and personas reach etcd intact). Then the operator
 * process reconciles all of them together: every Agent's config is valid and carries its tool policy.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  eventually,
  installCrds,
  kubectl,
  kubectlOk,
  type Manifest,
  type OperatorProcess,
  repoRoot,
  startOperator,
  uniqueName,
} from "../../harness/index.ts";

const kubeconfig = inject("kubeconfig");
const examplesDir = join(repoRoot, "examples");
const examples = readdirSync(examplesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

function manifestsOf(example: string): Manifest[] {
  return readdirSync(join(examplesDir, example))
    .filter((file) => file.endsWith(".yaml"))
    .flatMap((file) => yaml.loadAll(readFileSync(join(examplesDir, example, file), "utf8")) as Manifest[])
    .filter((doc) => doc !== null && typeof doc === "object");
}

describe("examples", () => {
  const namespaces = new Map<string, string>();

  beforeAll(async () => {
    await installCrds(kubeconfig);
  });

  afterAll(async () => {
    for (const ns of namespaces.values()) await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
  });

  it("include the six teams, each with a README", () => {
    for (const team of [
      "ceo",
      "customer-service",
      "healthcare-admin",
      "finance-pipeline",
      "regional-federation",
      "support-swarm",
    ]) {
      expect(examples).toContain(team);
      expect(readFileSync(join(examplesDir, team, "README.md"), "utf8")).toMatch(/clawcrew delegate --team /);
    }
  });

  it.each(examples)("%s applies server-side and is stored as written", async (example) => {
    const ns = uniqueName(`ex-${example}`.slice(0, 20));
    namespaces.set(example, ns);
    await kubectlOk(kubeconfig, ["create", "namespace", ns]);
    const applied = await kubectl(kubeconfig, [
      "apply",
      "--server-side",
      "--field-manager=examples-test",
      "--validate=strict",
      "-n",
      ns,
      "-f",
      join(examplesDir, example),
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr, "no warnings").toBe("");

    const manifests = manifestsOf(example);
    expect(applied.stdout.trim().split("\n")).toHaveLength(manifests.length);
    for (const manifest of manifests) {
      const [group, version] = manifest.apiVersion.split("/");
      const kindRef = `${manifest.kind.toLowerCase()}${version ? `.${group}` : ""}/${manifest.metadata.name}`;
      const live = JSON.parse(await kubectlOk(kubeconfig, ["get", kindRef, "-n", ns, "-o", "json"]));
      const { apiVersion, kind, metadata, ...content } = manifest;
      expect(live, kindRef).toMatchObject(content);
    }
  });

  it("keep each Agent's tool policy in the stored object", async () => {
    const ns = namespaces.get("ceo");
    expect(ns, "the ceo example was applied").toBeDefined();
    const researcher = JSON.parse(await kubectlOk(kubeconfig, ["get", "agent/researcher", "-n", ns!, "-o", "json"]));
    expect(researcher.spec.tools).toEqual({
      allow: ["group:web", "group:memory", "read", "pdf"],
      deny: ["group:runtime", "write", "edit", "apply_patch"],
    });
  });

  describe("reconciled by the operator", () => {
    const ns = uniqueName("ex-all");
    let operator: OperatorProcess | undefined;

    beforeAll(async () => {
      await kubectlOk(kubeconfig, ["create", "namespace", ns]);
      await kubectlOk(kubeconfig, [
        "create",
        "secret",
        "generic",
        "llm-credentials",
        "-n",
        ns,
        "--from-literal=VLLM_API_KEY=x",
      ]);
      // Agent names are unique across the examples, so they share one namespace, as on a real cluster.
      for (const example of examples) {
        await kubectlOk(kubeconfig, ["apply", "--server-side", "-n", ns, "-f", join(examplesDir, example)]);
      }
      operator = await startOperator(kubeconfig, `${ns}-op`, [
        `--namespace=${ns}`,
        `--leader-election-namespace=${ns}`,
      ]);
    });

    afterAll(async () => {
      await operator?.stop();
      await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
    });

    it("finds every Agent's config valid and renders its tool policy", async () => {
      const agents = examples.flatMap(manifestsOf).filter((m) => m.kind === "Agent");
      expect(agents.length).toBeGreaterThanOrEqual(20);
      for (const agent of agents) {
        const name = agent.metadata.name;
        const valid = await eventually(
          `${name} ConfigValid`,
          async () => {
            const live = JSON.parse(await kubectlOk(kubeconfig, ["get", `agent/${name}`, "-n", ns, "-o", "json"]));
            const c = live.status?.conditions?.find((c: { type: string }) => c.type === "ConfigValid");
            return c?.status === "True" ? c : c?.status === "False" ? Promise.reject(new Error(c.message)) : undefined;
          },
          { timeoutMs: 90_000 },
        );
        expect(valid.status).toBe("True");
        const cm = JSON.parse(await kubectlOk(kubeconfig, ["get", `configmap/${name}-config`, "-n", ns, "-o", "json"]));
        const config = JSON.parse(cm.data["openclaw.json"]);
        const tools = (agent.spec as { tools?: Record<string, unknown> }).tools;
        expect(config.agents.entries[name].tools, name).toMatchObject(tools ?? {});
      }
      expect(operator!.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
    });

    it("gives leads their delegation server beside their policy, and members no delegation tools", async () => {
      const rendered = async (agent: string) => {
        const cm = JSON.parse(
          await kubectlOk(kubeconfig, ["get", `configmap/${agent}-config`, "-n", ns, "-o", "json"]),
        );
        return JSON.parse(cm.data["openclaw.json"]);
      };
      const ceo = await eventually("the ceo's delegation server", async () => {
        const config = await rendered("ceo");
        return config.mcp?.servers?.clawcrew ? config : undefined;
      });
      expect(ceo.agents.entries.ceo.tools).toEqual({
        deny: ["group:runtime", "write", "edit", "apply_patch", "group:ui"],
      });
      const member = await rendered("tech-specialist");
      expect(member.mcp).toBeUndefined();
      expect(member.agents.entries["tech-specialist"].tools).toEqual({ allow: ["group:web", "group:memory", "read"] });
    });
  });
});
