/**
 * clawcrew installed on a cluster the way users install it: `helm install` of charts/clawcrew (or
 * `kubectl apply -f deploy/clawcrew.yaml`), the stub LLM as Service stub-llm in clawcrew-system, and
 * an example team whose agents use that stub, or a real provider when the user has its key.
 * Shared by hack/local-cluster.ts, the real-node e2e tests and the benchmarks.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { resolveBinaries } from "../control-plane/binaries.ts";
import { BinariesError, InstallError } from "../errors.ts";
import { kubectlOk } from "../kubectl.ts";
import { repoRoot } from "../manifests.ts";

export const OPERATOR_NAMESPACE = "clawcrew-system";
export const RELEASE = "clawcrew";
export const STUB_LLM_IMAGE = "clawcrew.local/stub-llm:dev";
export const STUB_LLM_PORT = 8080;
/** The provider the example agents use in place of a real one. */
export const STUB_PROVIDER = {
  name: "stub",
  baseUrl: `http://stub-llm.${OPERATOR_NAMESPACE}.svc.cluster.local/v1`,
  api: "openai-completions",
  apiKeyEnv: "STUB_API_KEY",
  models: [{ id: "stub-model", contextWindow: 128_000, maxTokens: 4096 }],
};
const stubLabels = { "app.kubernetes.io/name": "stub-llm", "app.kubernetes.io/part-of": "clawcrew-dev" };

/**
 * The agents' egress: DNS to kube-dns, HTTPS anywhere (the operator's default) and the stub LLM's pods.
 * A NetworkPolicy sees the pod's port after kube-proxy's DNAT, so the stub's rule names its target port.
 */
export const AGENT_EGRESS = [
  {
    to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
    ports: [
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ],
  },
  { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
  {
    to: [
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": OPERATOR_NAMESPACE } },
        podSelector: { matchLabels: { "app.kubernetes.io/name": "stub-llm" } },
      },
    ],
    ports: [{ protocol: "TCP", port: STUB_LLM_PORT }],
  },
];

/**
 * A pod that only sleeps, with node (from the stub LLM's image) to make requests from inside the
 * cluster, under the restricted security settings. Tests and benchmarks `kubectl exec` into it.
 */
export function shellPod(name: string, namespace: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: {
      terminationGracePeriodSeconds: 0,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "shell",
          image: STUB_LLM_IMAGE,
          imagePullPolicy: "Never",
          command: ["sleep", "3600"],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

function stubLlmManifests(): object[] {
  const container = {
    name: "stub-llm",
    image: STUB_LLM_IMAGE,
    imagePullPolicy: "Never",
    args: ["--port", String(STUB_LLM_PORT)],
    ports: [{ name: "http", containerPort: STUB_LLM_PORT }],
    readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 2 },
    resources: { requests: { cpu: "20m", memory: "48Mi" }, limits: { memory: "256Mi" } },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "stub-llm", namespace: OPERATOR_NAMESPACE, labels: stubLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: stubLabels },
        template: {
          metadata: { labels: stubLabels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [container],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "stub-llm", namespace: OPERATOR_NAMESPACE, labels: stubLabels },
      spec: { selector: stubLabels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    },
  ];
}

async function apply(kubeconfig: string, objects: object[], namespace?: string): Promise<void> {
  const args = ["apply", "--server-side", "--field-manager=clawcrew-dev", "-f", "-"];
  await kubectlOk(kubeconfig, namespace ? ["-n", namespace, ...args] : args, {
    apiVersion: "v1",
    kind: "List",
    items: objects,
  });
}

export async function createNamespace(kubeconfig: string, name: string): Promise<void> {
  await apply(kubeconfig, [{ apiVersion: "v1", kind: "Namespace", metadata: { name } }]);
}

/** Runs the stub LLM in clawcrew-system and waits until it serves. */
export async function deployStubLlm(kubeconfig: string): Promise<void> {
  await createNamespace(kubeconfig, OPERATOR_NAMESPACE);
  await apply(kubeconfig, stubLlmManifests());
  await kubectlOk(kubeconfig, ["-n", OPERATOR_NAMESPACE, "rollout", "status", "deploy/stub-llm", "--timeout=180s"]);
}

export interface InstallOptions {
  /** "helm" (default) installs the chart; "manifest" applies deploy/clawcrew.yaml. */
  method?: "helm" | "manifest";
  /** Extra chart values for helm. */
  values?: Record<string, unknown>;
  timeoutSeconds?: number;
}

/** Installs the operator into clawcrew-system and waits until its Deployment is rolled out. */
export async function installClawcrew(kubeconfig: string, options: InstallOptions = {}): Promise<void> {
  const timeout = `${options.timeoutSeconds ?? 300}s`;
  if (options.method === "manifest") {
    await kubectlOk(kubeconfig, ["apply", "--server-side", "-f", join(repoRoot, "deploy", "clawcrew.yaml")]);
  } else {
    // The pinned helm, found the way every other binary is (PATH, KUBEBUILDER_ASSETS, then the build cache).
    const { helm } = await resolveBinaries(() => {});
    if (!helm) throw new BinariesError("hack/control-plane-bins.sh printed no helm");
    // A values file: --set splits on the commas inside the egress JSON.
    const dir = mkdtempSync(join(tmpdir(), "clawcrew-values-"));
    const valuesFile = join(dir, "values.yaml");
    writeFileSync(valuesFile, yaml.dump({ agentEgress: JSON.stringify(AGENT_EGRESS), ...options.values }));
    await new Promise<void>((resolve, reject) => {
      execFile(
        helm,
        ["upgrade", "--install", RELEASE, join(repoRoot, "charts", "clawcrew"), "-n", OPERATOR_NAMESPACE].concat([
          "--create-namespace",
          "--wait",
          `--timeout=${timeout}`,
          "--kubeconfig",
          kubeconfig,
          "-f",
          valuesFile,
        ]),
        { encoding: "utf8" },
        (error, _stdout, stderr) =>
          error ? reject(new InstallError(`helm install failed: ${stderr || error.message}`)) : resolve(),
      );
    }).finally(() => rmSync(dir, { recursive: true, force: true }));
  }
  await kubectlOk(kubeconfig, [
    "-n",
    OPERATOR_NAMESPACE,
    "rollout",
    "status",
    `deploy/${RELEASE}`,
    `--timeout=${timeout}`,
  ]);
}

/** A real provider key in the environment, which the example then uses instead of the stub. */
export function realProviderKey(env: NodeJS.ProcessEnv = process.env): { name: string; value: string } | undefined {
  for (const name of ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]) {
    const value = env[name];
    if (value) return { name, value };
  }
  return undefined;
}

/** The example's objects; with the stub, every Agent's model becomes the stub provider's model. */
export function exampleObjects(example: string, useStub: boolean): Record<string, unknown>[] {
  const dir = join(repoRoot, "examples", example);
  const objects = readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .flatMap((file) => yaml.loadAll(readFileSync(join(dir, file), "utf8")) as Record<string, unknown>[])
    .filter((object) => object !== null && typeof object === "object");
  if (!useStub) return objects;
  return objects.map((object) =>
    object.kind === "Agent"
      ? {
          ...object,
          spec: {
            ...(object.spec as object),
            model: { primary: `${STUB_PROVIDER.name}/${STUB_PROVIDER.models[0]!.id}`, providers: [STUB_PROVIDER] },
          },
        }
      : object,
  );
}

/** Writes the llm-credentials Secret and applies the example in `namespace`. */
export async function applyExample(kubeconfig: string, example: string, namespace: string): Promise<void> {
  const key = realProviderKey();
  await createNamespace(kubeconfig, namespace);
  const credentials = key ? { [key.name]: key.value } : { STUB_API_KEY: "stub" };
  await apply(
    kubeconfig,
    [{ apiVersion: "v1", kind: "Secret", metadata: { name: "llm-credentials" }, stringData: credentials }],
    namespace,
  );
  await apply(kubeconfig, exampleObjects(example, key === undefined), namespace);
}

/**
 * The newcomer's install on any cluster whose node has the images: the stub LLM (unless a real
 * provider's key is set), the operator by helm, and the example in namespace default.
 */
export async function installWithExample(
  kubeconfig: string,
  example: string | undefined,
  log: (message: string) => void,
): Promise<void> {
  const key = realProviderKey();
  if (!key) await deployStubLlm(kubeconfig);
  log(key ? `using ${key.name} from the environment` : `stub LLM serving at Service stub-llm.${OPERATOR_NAMESPACE}`);
  await installClawcrew(kubeconfig);
  log(`operator installed by helm into ${OPERATOR_NAMESPACE}`);
  if (example) {
    await applyExample(kubeconfig, example, "default");
    log(`examples/${example} applied in namespace default`);
  }
}
