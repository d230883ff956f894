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

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("agents");
let operator: OperatorProcess;

const { k, getJson, applyObj } = kubectlIn(kubeconfig, ns);

function agent(name: string, spec: Obj = {}): Obj {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name },
    spec: {
      description: `The ${name}.`,
      soul: `# ${name}\nYou are ${name}.`,
      model: { primary: "openai/gpt-5" },
      ...spec,
    },
  };
}

async function waitForCondition(name: string, type: string, status: string, reason?: string, timeoutMs = 60_000) {
  return eventually(
    `${name} ${type}=${status}${reason ? ` (${reason})` : ""}`,
    async () => {
      const obj = await getJson(`agent/${name}`);
      const c = condition(obj, type);
      const current = obj?.status?.observedGeneration === obj?.metadata?.generation;
      return current && c?.status === status && (!reason || c?.reason === reason) ? obj : undefined;
    },
    { timeoutMs },
  );
}

/** Waits until the operator process has started its controllers, i.e. leads. */
const waitUntilLeading = (op: OperatorProcess) =>
  eventually(
    `${op.identity} to lead`,
    async () => (op.logs.some((l) => l.msg === "controllers started") ? true : undefined),
    {
      timeoutMs: 40_000,
    },
  );

async function eventReasons(name: string): Promise<string[]> {
  const out = JSON.parse(await k("get", "events.events.k8s.io", "-o", "json")) as { items: Obj[] };
  return out.items.filter((e) => e.regarding?.name === name && e.regarding?.kind === "Agent").map((e) => e.reason);
}

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  operator = await startOperator(kubeconfig, `${ns}-op-a`, [`--namespace=${ns}`, `--leader-election-namespace=${ns}`]);
});

afterAll(async () => {
  await operator?.stop();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("Agent controller", () => {
  it("creates every child of an Agent and reports Ready", async () => {
    const started = performance.now();
    await applyObj(
      agent("researcher", {
        instructions: "Cite sources.",
        skills: [{ name: "search", content: "---\nname: search\ndescription: Search.\n---\nSearch well." }],
      }),
    );
    const ready = await waitForCondition("researcher", "Ready", "True");
    const latencyMs = performance.now() - started;
    console.log(`create→Ready latency: ${latencyMs.toFixed(0)} ms`);

    expect(ready.status).toMatchObject({
      replicas: 1,
      readyReplicas: 1,
      selector: "clawcrew.io/agent=researcher",
      endpoint: `http://researcher.${ns}.svc.cluster.local:18789`,
    });
    expect(ready.status.configHash).toMatch(/^[0-9a-f]{16}$/);
    for (const type of ["ConfigValid", "Progressing", "Degraded", "Ready"]) {
      const c = condition(ready, type);
      expect(c, type).toBeDefined();
      expect(c!.observedGeneration).toBe(ready.metadata.generation);
      expect(c!.reason).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(c!.message.length).toBeGreaterThan(0);
    }
    expect(condition(ready, "Degraded")!.status).toBe("False");

    const cm = (await getJson("configmap/researcher-config"))!;
    expect(Object.keys(cm.data).sort()).toEqual([
      "openclaw.json",
      "workspace__AGENTS.md",
      "workspace__SOUL.md",
      "workspace__skills__search__SKILL.md",
    ]);
    expect(cm.data["workspace__SOUL.md"]).toBe("# researcher\nYou are researcher.");
    const config = JSON.parse(cm.data["openclaw.json"]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
    expect(config.gateway.auth.token).toBe("${OPENCLAW_GATEWAY_TOKEN}");

    const deploy = (await getJson("deployment/researcher"))!;
    const pod = deploy.spec.template.spec;
    expect(deploy.metadata.ownerReferences[0]).toMatchObject({ kind: "Agent", name: "researcher", controller: true });
    expect(deploy.spec.template.metadata.annotations["clawcrew.io/config-hash"]).toBe(ready.status.configHash);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    const gateway = pod.containers[0];
    expect(gateway.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(gateway.startupProbe.httpGet.path).toBe("/startupz");
    expect(gateway.readinessProbe.httpGet.path).toBe("/readyz");
    expect(gateway.livenessProbe.httpGet.path).toBe("/healthz");
    expect(gateway.resources.limits.memory).toBe("2Gi");
    expect(pod.initContainers[0].name).toBe("config");

    const sa = (await getJson("serviceaccount/researcher"))!;
    expect(sa.automountServiceAccountToken).toBe(false);
    const svc = (await getJson("service/researcher"))!;
    expect(svc.spec.ports[0]).toMatchObject({ name: "http", port: 18789 });
    const token = (await getJson("secret/researcher-token"))!;
    expect(Buffer.from(token.data.token, "base64").toString().length).toBeGreaterThanOrEqual(40);
    expect(await getJson("poddisruptionbudget/researcher")).toBeUndefined();
    expect(await eventReasons("researcher")).toContain("Ready");
  });

  it("rolls the pods when SOUL.md changes, keeping the token", async () => {
    const before = (await getJson("agent/researcher"))!;
    const tokenBefore = (await getJson("secret/researcher-token"))!.data.token;
    const rsBefore = (await getJson("deployment/researcher"))!.status.observedGeneration;
    await k(
      "patch",
      "agent/researcher",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { soul: "# researcher\nYou are thorough." } }),
    );
    const after = await waitForCondition("researcher", "Ready", "True");
    expect(after.status.configHash).not.toBe(before.status.configHash);
    const deploy = (await getJson("deployment/researcher"))!;
    expect(deploy.spec.template.metadata.annotations["clawcrew.io/config-hash"]).toBe(after.status.configHash);
    expect(deploy.status.observedGeneration).toBeGreaterThan(rsBefore);
    const pods = JSON.parse(await k("get", "pods", "-l", "clawcrew.io/agent=researcher", "-o", "json")).items as Obj[];
    const current = pods.filter((p) => !p.metadata.deletionTimestamp);
    expect(current.length).toBeGreaterThan(0);
    expect(current.every((p) => p.metadata.annotations["clawcrew.io/config-hash"] === after.status.configHash)).toBe(
      true,
    );
    expect((await getJson("secret/researcher-token"))!.data.token).toBe(tokenBefore);
    expect(await eventReasons("researcher")).toContain("RollingOut");
    const logText = operator.logs.map((l) => JSON.stringify(l)).join("\n");
    expect(logText).not.toContain(Buffer.from(tokenBefore, "base64").toString());
  });

  it("follows kubectl scale, with a PodDisruptionBudget above one replica", async () => {
    await k("scale", "agent/researcher", "--replicas=3");
    const scaled = await eventually("3 ready replicas", async () => {
      const a = await getJson("agent/researcher");
      return a?.status?.readyReplicas === 3 && condition(a, "Ready")?.status === "True" ? a : undefined;
    });
    expect(scaled.status.replicas).toBe(3);
    expect((await getJson("deployment/researcher"))!.spec.replicas).toBe(3);
    const pdb = await eventually("a PDB", () => getJson("poddisruptionbudget/researcher"));
    expect(pdb.spec).toMatchObject({
      maxUnavailable: 1,
      selector: { matchLabels: { "clawcrew.io/agent": "researcher" } },
    });
    const scale = JSON.parse(await k("get", "agent/researcher", "--subresource=scale", "-o", "json"));
    expect(scale.status).toMatchObject({ replicas: 3, selector: "clawcrew.io/agent=researcher" });

    await k("scale", "agent/researcher", "--replicas=1");
    await eventually("the PDB removed at one replica", async () =>
      (await getJson("poddisruptionbudget/researcher")) === undefined ? true : undefined,
    );
  });

  it("restores children edited or deleted by hand", async () => {
    const hash = (await getJson("agent/researcher"))!.status.configHash;
    await k("delete", "service/researcher");
    await k(
      "patch",
      "configmap/researcher-config",
      "--type=merge",
      "-p",
      JSON.stringify({ data: { "workspace__SOUL.md": "tampered" } }),
    );
    await k("patch", "deployment/researcher", "--type=merge", "-p", JSON.stringify({ spec: { replicas: 5 } }));
    await eventually("the Service back", () => getJson("service/researcher"));
    await eventually("SOUL.md restored", async () => {
      const cm = await getJson("configmap/researcher-config");
      return cm?.data["workspace__SOUL.md"] === "# researcher\nYou are thorough." ? true : undefined;
    });
    await eventually("replicas restored", async () =>
      (await getJson("deployment/researcher"))?.spec.replicas === 1 ? true : undefined,
    );
    expect((await getJson("agent/researcher"))!.status.configHash).toBe(hash);
  });

  it("generates a new token when its Secret is deleted, and rolls the pods onto it", async () => {
    const before = (await getJson("agent/researcher"))!.status.configHash;
    const oldToken = (await getJson("secret/researcher-token"))!.data.token;
    await k("delete", "secret/researcher-token");
    const fresh = await eventually("a new token Secret", async () => {
      const secret = await getJson("secret/researcher-token");
      return secret && secret.data.token !== oldToken ? secret : undefined;
    });
    expect(fresh.metadata.ownerReferences[0]).toMatchObject({ kind: "Agent", name: "researcher" });
    const after = await eventually("a new config hash", async () => {
      const a = await getJson("agent/researcher");
      return a && a.status.configHash !== before ? a : undefined;
    });
    const deploy = (await getJson("deployment/researcher"))!;
    expect(deploy.spec.template.metadata.annotations["clawcrew.io/config-hash"]).toBe(after.status.configHash);
  });

  it("reports a missing soulFrom ConfigMap, keeps the last good Deployment, and heals", async () => {
    await applyObj(agent("writer"));
    await waitForCondition("writer", "Ready", "True");
    const good = (await getJson("deployment/writer"))!;
    await applyObj(
      agent("writer", { soul: undefined, soulFrom: { configMapKeyRef: { name: "writer-persona", key: "SOUL.md" } } }),
    );
    const broken = await waitForCondition("writer", "ConfigValid", "False", "SoulConfigMapNotFound");
    expect(condition(broken, "ConfigValid")!.message).toContain("writer-persona");
    expect(condition(broken, "Degraded")!.status).toBe("True");
    const untouched = (await getJson("deployment/writer"))!;
    expect(untouched.metadata.generation).toBe(good.metadata.generation);
    expect(untouched.spec.template).toEqual(good.spec.template);
    expect(await eventReasons("writer")).toContain("SoulConfigMapNotFound");

    await applyObj({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "writer-persona" }, data: { other: "x" } });
    const noKey = await waitForCondition("writer", "ConfigValid", "False", "SoulKeyNotFound", 40_000);
    expect(condition(noKey, "ConfigValid")!.message).toContain("SOUL.md");

    await applyObj({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "writer-persona" },
      data: { "SOUL.md": "# Writer\nPlain words." },
    });
    await waitForCondition("writer", "ConfigValid", "True", undefined, 40_000);
    await waitForCondition("writer", "Ready", "True");
    const cm = (await getJson("configmap/writer-config"))!;
    expect(cm.data["workspace__SOUL.md"]).toBe("# Writer\nPlain words.");
    expect(await eventReasons("writer")).toContain("ConfigRecovered");
  });

  it("reports a missing credentials Secret and heals when it appears", async () => {
    await applyObj(agent("coder", { credentials: { secretRef: { name: "llm-keys" } } }));
    const broken = await waitForCondition("coder", "ConfigValid", "False", "CredentialsSecretNotFound");
    expect(condition(broken, "ConfigValid")!.message).toContain("llm-keys");
    expect(condition(broken, "Ready")!.status).toBe("False");
    expect(await getJson("deployment/coder")).toBeUndefined();
    await k("create", "secret", "generic", "llm-keys", "--from-literal=OPENAI_API_KEY=sk-test");
    await waitForCondition("coder", "Ready", "True", undefined, 40_000);
    const pod = (await getJson("deployment/coder"))!.spec.template.spec;
    expect(pod.containers[0].envFrom).toEqual([{ secretRef: { name: "llm-keys" } }]);
  });

  it("rejects config overlays that touch operator-owned keys or that OpenClaw refuses", async () => {
    await applyObj(agent("ops", { config: { gateway: { auth: { mode: "none" } } } }));
    const owned = await waitForCondition("ops", "ConfigValid", "False", "InvalidConfig");
    expect(condition(owned, "ConfigValid")!.message).toContain("spec.config.gateway.auth");

    await applyObj(agent("ops", { config: { agents: { defaults: { thisKeyDoesNotExist: true } } } }));
    const rejected = await waitForCondition("ops", "ConfigValid", "False", "ConfigRejected");
    expect(condition(rejected, "ConfigValid")!.message).toContain("thisKeyDoesNotExist");

    await applyObj(agent("ops", { config: { agents: { defaults: { thinkingDefault: "low" } } } }));
    await waitForCondition("ops", "Ready", "True");
  });

  it("reports a spec whose objects the API server refuses as ConfigValid=False, naming the field", async () => {
    // Admission leaves extended resources to the API server, which wants request == limit.
    const gpu = { requests: { "example.com/gpu": 1 }, limits: { "example.com/gpu": 2 } };
    await applyObj(agent("gpu", { resources: gpu }));
    const stuck = await waitForCondition("gpu", "ConfigValid", "False", "Rejected");
    expect(condition(stuck, "ConfigValid")!.message).toMatch(/refused the Agent's objects: .*example\.com\/gpu/);
    expect(condition(stuck, "Ready")!.status).toBe("False");
    expect(await eventReasons("gpu")).toContain("Rejected");
    await applyObj(agent("gpu"));
    await waitForCondition("gpu", "Ready", "True");
  });

  it("serves probes and Prometheus metrics for reconciles, the queue and leadership", async () => {
    const probes = operator.probes()!;
    expect((await fetch(`http://${probes}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${probes}/readyz`)).status).toBe(200);
    const text = await (await fetch(`http://${operator.metrics()}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    expect(
      value(/^controller_runtime_reconcile_total\{controller="agent",kind="Agent",result="success"\} (\d+)/m),
    ).toBeGreaterThan(0);
    expect(
      value(/^controller_runtime_reconcile_time_seconds_count\{controller="agent",kind="Agent"\} (\d+)/m),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/^workqueue_depth\{controller="agent",kind="Agent"\} \d+/m);
    expect(text).toMatch(/^# TYPE controller_runtime_reconcile_errors_total counter$/m);
    expect(value(/^leader_election_master_status\{name="clawcrew-operator"\} (\d+)/m)).toBe(1);
  });

  it("garbage-collects every child when the Agent is deleted", async () => {
    await k("delete", "agent/ops", "--wait=true");
    for (const ref of [
      "deployment/ops",
      "service/ops",
      "configmap/ops-config",
      "secret/ops-token",
      "serviceaccount/ops",
    ]) {
      await eventually(`${ref} deleted`, async () => ((await getJson(ref)) === undefined ? true : undefined));
    }
  });

  it("runs one leader among two operators, and a standby takes over when it dies", async () => {
    const standby = await startOperator(kubeconfig, `${ns}-op-b`, [
      `--namespace=${ns}`,
      `--leader-election-namespace=${ns}`,
    ]);
    try {
      await eventually("the standby to serve probes", async () => standby.probes());
      await new Promise((r) => setTimeout(r, 3000));
      expect(standby.logs.some((l) => l.msg === "controllers started")).toBe(false);
      const lease = JSON.parse(await k("get", "lease/clawcrew-operator", "-o", "json"));
      expect(lease.spec.holderIdentity).toBe(operator.identity);

      await operator.stop("SIGKILL");
      const killedAt = performance.now();
      await waitUntilLeading(standby);
      const takeoverMs = performance.now() - killedAt;
      console.log(`standby took over ${takeoverMs.toFixed(0)} ms after the leader was killed`);
      await applyObj(agent("after-failover"));
      await waitForCondition("after-failover", "Ready", "True");
    } finally {
      operator = standby;
    }
  });

  it("on SIGTERM releases the Lease so a standby leads at once, and exits 0", async () => {
    const standby = await startOperator(kubeconfig, `${ns}-op-c`, [
      `--namespace=${ns}`,
      `--leader-election-namespace=${ns}`,
    ]);
    try {
      await eventually("the standby to serve probes", async () => standby.probes());
      const code = await operator.stop("SIGTERM");
      const stoppedAt = performance.now();
      expect(code).toBe(0);
      expect(operator.logs.some((l) => l.msg === "stopped")).toBe(true);
      await waitUntilLeading(standby);
      console.log(`standby took over ${(performance.now() - stoppedAt).toFixed(0)} ms after a graceful stop`);
      const lease = JSON.parse(await k("get", "lease/clawcrew-operator", "-o", "json"));
      expect(lease.spec.holderIdentity).toBe(standby.identity);
    } finally {
      operator = standby;
    }
  });
});
