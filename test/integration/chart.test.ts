// The Helm chart, rendered with its default values and with a non-default set, yields objects the real
// API server accepts: every one passes a server-side dry-run. helm itself refuses values of the wrong
// type, naming them, prints NOTES that say what it installed, and the documented CRD upgrade works.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { helm, installCrds, kubectl, kubectlOk, type Obj, repoRoot, uniqueName } from "../../harness/index.ts";

const admin = inject("kubeconfig");
const ns = uniqueName("chart");
const watched = uniqueName("team");
const release = "clawcrew";
const chart = join(repoRoot, "charts/clawcrew");
const serviceMonitorCrd = join(import.meta.dirname, "fixtures/servicemonitors.monitoring.coreos.com.yaml");
const prometheusRuleCrd = join(import.meta.dirname, "fixtures/prometheusrules.monitoring.coreos.com.yaml");
const dir = mkdtempSync(join(tmpdir(), "clawcrew-chart-"));
const nonDefaultFile = join(dir, "values.yaml");

/** Every value that changes what is rendered, set away from its default. */
const NON_DEFAULT = {
  replicaCount: 3,
  podDisruptionBudget: { minAvailable: 2 },
  watchNamespaces: [watched],
  logLevel: "debug",
  concurrency: 8,
  gracefulShutdownTimeoutSeconds: 40,
  image: { repository: "registry.example/clawcrew-operator", tag: "0.1.0-test", pullPolicy: "Always" },
  imagePullSecrets: [{ name: "registry" }],
  leaderElection: { leaseDurationSeconds: 30 },
  serviceAccount: { name: "clawcrew-operator", annotations: { "iam.example/role": "clawcrew" } },
  metrics: {
    port: 9090,
    serviceMonitor: { enabled: true, interval: "15s" },
    prometheusRule: { enabled: true, labels: { release: "prometheus" } },
    grafanaDashboard: { enabled: true, labels: { team: "platform" }, annotations: { grafana_folder: "clawcrew" } },
  },
  healthProbePort: 9091,
  delegation: { port: 9092, limits: { ratePerSecond: 2.5, burst: 10, maxOutstanding: 50 } },
  networkPolicy: {
    metricsFrom: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
  },
  admissionPolicy: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": watched } } },
  agentEgress: JSON.stringify([{ ports: [{ protocol: "TCP", port: 443 }] }]),
  agentPolicy: {
    allowedImages: ["registry.example/openclaw/*"],
    requireReadableLabel: true,
    allowedTolerationKeys: ["dedicated"],
    allowedNodeSelectorKeys: ["pool"],
    allowAffinity: false,
    allowedPriorityClasses: ["agents"],
  },
  tracing: {
    otlpEndpoint: "http://otel-collector.observability:4318",
    sampler: "parentbased_traceidratio",
    samplerArg: "0.25",
    extraEnv: [{ name: "OTEL_EXPORTER_OTLP_HEADERS", valueFrom: { secretKeyRef: { name: "otlp", key: "headers" } } }],
  },
  resources: { requests: { cpu: "200m", memory: "300Mi" }, limits: { cpu: 1, memory: "1Gi" } },
  podAnnotations: { "example.com/owner": "platform" },
  podLabels: { team: "platform" },
  nodeSelector: { "kubernetes.io/os": "linux" },
  tolerations: [{ key: "dedicated", operator: "Equal", value: "operators", effect: "NoSchedule" }],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: { "app.kubernetes.io/name": "clawcrew" } },
          },
        },
      ],
    },
  },
};

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown> };

async function render(args: string[]): Promise<{ manifest: string; docs: Doc[] }> {
  const manifest = await helmOk(["template", release, chart, "-n", ns, "--include-crds", ...args]);
  return { manifest, docs: (yaml.loadAll(manifest) as (Doc | null)[]).filter((d): d is Doc => d !== null) };
}

async function helmOk(args: string[]): Promise<string> {
  const result = await helm(admin, args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  writeFileSync(nonDefaultFile, yaml.dump(NON_DEFAULT));
  await installCrds(admin);
  await kubectlOk(admin, ["apply", "--server-side", "-f", serviceMonitorCrd, "-f", prometheusRuleCrd]);
  await kubectlOk(admin, [
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/servicemonitors.monitoring.coreos.com",
    "crd/prometheusrules.monitoring.coreos.com",
  ]);
  await kubectlOk(admin, ["create", "namespace", ns]);
  await kubectlOk(admin, ["create", "namespace", watched]);
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await kubectl(admin, ["delete", "namespace", ns, watched, "--wait=false"]);
  await kubectl(admin, [
    "delete",
    "-f",
    serviceMonitorCrd,
    "-f",
    prometheusRuleCrd,
    "--wait=false",
    "--ignore-not-found",
  ]);
});

describe.each([
  ["the default values", [] as string[]],
  ["a non-default set", ["-f", nonDefaultFile]],
])("rendered with %s", (_, args) => {
  it("yields objects that each pass a server-side dry-run against the API server", async () => {
    const { manifest, docs } = await render(args);
    // Every namespaced object names its namespace (the release's, or a watched one for its Role).
    const result = await kubectl(admin, ["apply", "--server-side", "--dry-run=server", "-f", "-"], manifest);
    expect(result.code, result.stderr).toBe(0);
    const applied = result.stdout.split("\n").filter((line) => line.endsWith(" serverside-applied (server dry run)"));
    expect(applied).toHaveLength(docs.length);
    for (const doc of docs)
      expect(
        applied.some((line) => line.includes(`/${doc.metadata.name} `)),
        doc.kind,
      ).toBe(true);
  });
});

it("renders the defaults: two operator pods, a PodDisruptionBudget, no ServiceMonitor, rule or dashboard", async () => {
  const { docs } = await render([]);
  const kinds = docs.map((d) => d.kind);
  expect(kinds).toEqual(expect.arrayContaining(["CustomResourceDefinition", "Deployment", "PodDisruptionBudget"]));
  expect(kinds).not.toContain("ServiceMonitor");
  expect(kinds).not.toContain("PrometheusRule");
  expect(docs.filter((d) => d.kind === "ConfigMap")).toEqual([]);
  expect(docs.find((d) => d.kind === "Deployment")!.spec!.replicas).toBe(2);
  expect(docs.find((d) => d.kind === "PodDisruptionBudget")!.spec!.minAvailable).toBe(1);
});

it("renders the non-default set into the objects", async () => {
  const { docs } = await render(["-f", nonDefaultFile]);
  const deployment = docs.find((d) => d.kind === "Deployment")!;
  expect(deployment.spec!.replicas).toBe(3);
  const pod = (deployment.spec!.template as { spec: Record<string, unknown> }).spec;
  const container = (pod.containers as { args: string[]; resources: unknown; env: Obj[] }[])[0]!;
  expect(container.args).toContain(`--namespace=${watched}`);
  expect(container.env.filter((e) => String(e.name).startsWith("OTEL_"))).toEqual([
    { name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: NON_DEFAULT.tracing.otlpEndpoint },
    { name: "OTEL_SERVICE_NAME", value: "clawcrew-operator" },
    { name: "OTEL_TRACES_SAMPLER", value: "parentbased_traceidratio" },
    { name: "OTEL_TRACES_SAMPLER_ARG", value: "0.25" },
    { name: "OTEL_RESOURCE_ATTRIBUTES", value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)" },
    ...NON_DEFAULT.tracing.extraEnv,
  ]);
  expect(container.args).toContain("--metrics-bind-address=:9090");
  // The kubelet waits for the operator's whole shutdown budget before it kills the pod.
  expect(container.args).toContain("--graceful-shutdown-timeout-seconds=40");
  expect(pod.terminationGracePeriodSeconds).toBe(45);
  expect(container.args).toEqual(
    expect.arrayContaining([
      "--agent-allowed-images=registry.example/openclaw/*",
      "--agent-require-readable-label=true",
      "--agent-allowed-toleration-keys=dedicated",
      "--agent-allowed-node-selector-keys=pool",
      "--agent-allow-affinity=false",
      "--agent-allowed-priority-classes=agents",
    ]),
  );
  expect(container.resources).toEqual(NON_DEFAULT.resources);
  expect(pod.tolerations).toEqual(NON_DEFAULT.tolerations);
  expect(docs.find((d) => d.kind === "PodDisruptionBudget")!.spec!.minAvailable).toBe(2);
  const monitor = docs.find((d) => d.kind === "ServiceMonitor")!;
  expect((monitor.spec!.endpoints as { interval: string }[])[0]!.interval).toBe("15s");
  const rule = docs.find((d) => d.kind === "PrometheusRule") as Doc & { metadata: { labels: Record<string, string> } };
  expect(rule.metadata.labels.release).toBe("prometheus");
  const alerts = (rule.spec!.groups as { rules: { alert: string; annotations: Record<string, string> }[] }[])[0]!.rules;
  expect(alerts.map((r) => r.alert)).toEqual([
    "ClawcrewDelegationFailureRateHigh",
    "ClawcrewQueueGrowingWithoutReadyReplicas",
    "ClawcrewLeaderMissing",
  ]);
  expect(alerts[0]!.annotations.summary).toContain("{{ $labels.agent }}"); // left for Prometheus, not Helm
  const dashboard = docs.find((d) => d.kind === "ConfigMap") as Doc & {
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    data: Record<string, string>;
  };
  expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: "1", team: "platform" });
  expect(dashboard.metadata.annotations.grafana_folder).toBe("clawcrew");
  expect(JSON.parse(dashboard.data["clawcrew.json"]!)).toMatchObject({ uid: "clawcrew-overview" });
});

/** The peers the operator's NetworkPolicy admits to the delegation port. */
function delegationPeers(docs: Doc[], port: number): unknown[] {
  const policy = docs.find((d) => d.kind === "NetworkPolicy")!;
  const rules = policy.spec!.ingress as { from?: unknown[]; ports: { port: number }[] }[];
  const rule = rules.find((r) => r.ports.some((p) => p.port === port))!;
  return rule.from!;
}

it("admits delegator pods of every namespace to the delegation port in cluster-wide mode", async () => {
  const { docs } = await render([]);
  expect(delegationPeers(docs, 8082)).toEqual([
    { namespaceSelector: {}, podSelector: { matchLabels: { "clawcrew.io/delegator": "true" } } },
  ]);
});

it("admits only delegator pods of the watched namespaces to the delegation port in namespaced mode", async () => {
  const { docs } = await render(["-f", nonDefaultFile, "--set", `watchNamespaces={${watched},team-b}`]);
  // One peer with both selectors: a pod must be in a watched namespace and labelled a delegator.
  expect(delegationPeers(docs, NON_DEFAULT.delegation.port)).toEqual([
    {
      namespaceSelector: {
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [watched, "team-b"] }],
      },
      podSelector: { matchLabels: { "clawcrew.io/delegator": "true" } },
    },
  ]);
  const policy = docs.find((d) => d.kind === "NetworkPolicy")!;
  const metrics = (policy.spec!.ingress as { from?: unknown[]; ports: { port: number }[] }[]).find((r) =>
    r.ports.some((p) => p.port === NON_DEFAULT.metrics.port),
  )!;
  expect(metrics.from).toEqual(NON_DEFAULT.networkPolicy.metricsFrom);
});

it("renders no OTEL_* variables while tracing.otlpEndpoint is empty", async () => {
  const { docs } = await render([]);
  const deployment = docs.find((d) => d.kind === "Deployment")!;
  const pod = (deployment.spec!.template as { spec: { containers: { env: Obj[] }[] } }).spec;
  expect(pod.containers[0]!.env.map((e) => e.name)).toEqual(["POD_NAME", "POD_NAMESPACE"]);
});

it("renders no PodDisruptionBudget for a single operator pod", async () => {
  const { docs } = await render(["--set", "replicaCount=1"]);
  expect(docs.map((d) => d.kind)).not.toContain("PodDisruptionBudget");
});

it.each([
  ["a wrong type", ["--set", "replicaCount=two"], "/replicaCount"],
  ["an unknown key", ["--set", "replicas=2"], "replicas"],
  ["a value outside its enum", ["--set", "logLevel=verbose"], "/logLevel"],
  ["a PodDisruptionBudget no drain could satisfy", ["--set", "podDisruptionBudget.minAvailable=2"], "minAvailable"],
])("refuses %s, naming the value", async (_, args, named) => {
  const result = await helm(admin, ["template", release, chart, "-n", ns, ...args]);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain(named);
});

it("prints NOTES with what it installed and the next three commands", async () => {
  const out = await helmOk(["install", release, chart, "-n", ns, "--dry-run=server", "-f", nonDefaultFile]);
  const notes = out.slice(out.indexOf("NOTES:"));
  expect(notes).toContain(`as release ${release} in namespace ${ns}`);
  expect(notes).toContain("Deployment clawcrew with 3 replica(s), one leading through a Lease");
  expect(notes).toContain(`watching namespaces ${watched}`);
  expect(notes).toContain("a Role with what the operator needs in each of those namespaces (no ClusterRole)");
  expect(notes).toContain(
    "scraped through a ServiceMonitor, alerts in PrometheusRule clawcrew, a Grafana dashboard in ConfigMap clawcrew-dashboard;",
  );
  expect(notes).toContain(`kubectl -n ${ns} rollout status deployment/clawcrew`);
  expect(notes).toContain("kubectl explain agent.spec");
  expect(notes).toContain(`kubectl get clawcrew -n ${watched} --watch`);
});

it("upgrades the CRDs the way the chart's README says", async () => {
  const crds = await helmOk(["show", "crds", chart]);
  const names = (yaml.loadAll(crds) as (Doc | null)[]).filter((d) => d !== null).map((d) => d.metadata.name);
  expect(names.sort()).toEqual(["agents.clawcrew.io", "agentteams.clawcrew.io", "delegations.clawcrew.io"]);
  const out = await kubectlOk(admin, ["apply", "--server-side", "--force-conflicts", "-f", "-"], crds);
  for (const name of names)
    expect(out).toContain(`customresourcedefinition.apiextensions.k8s.io/${name} serverside-applied`);
});
