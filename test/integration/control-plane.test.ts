/**
 * The local control plane (harness/control-plane) behaves like a real cluster where it
 * matters to the operator: scheduling, kwok-simulated pods with real-looking IPs, EndpointSlices,
 * garbage collection, namespace deletion and RBAC.
 */
import {
  ApiException,
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createNamespace,
  eventually,
  eventuallyGone,
  ipv4InCidr,
  kubeConfigWithToken,
  loadKubeConfig,
} from "../../harness/index.ts";

const POD_IP_RANGE = "10.250.0.0/16";

let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let discovery: DiscoveryV1Api;
const namespaces: string[] = [];

async function testNamespace(prefix: string): Promise<string> {
  const ns = await createNamespace(core, prefix);
  namespaces.push(ns);
  return ns;
}

function deployment(name: string, replicas: number): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "main",
              // kwok never pulls images: the name only has to be valid.
              image: "registry.invalid/clawcrew/placeholder:1",
              ports: [{ name: "http", containerPort: 8080 }],
              resources: { requests: { cpu: "100m", memory: "1.25Gi" }, limits: { memory: "1.25Gi" } },
            },
          ],
        },
      },
    },
  };
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

async function readyPods(namespace: string, app: string, count: number): Promise<V1Pod[]> {
  return eventually(`${count} Running+Ready pods of ${namespace}/${app}`, async () => {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
    const ready = pods.items.filter((p) => p.status?.phase === "Running" && isReady(p) && p.status.podIP);
    return ready.length === count && pods.items.length === count ? ready : undefined;
  });
}

beforeAll(() => {
  kc = loadKubeConfig(inject("kubeconfig"));
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  discovery = kc.makeApiClient(DiscoveryV1Api);
});

afterAll(async () => {
  await Promise.allSettled(namespaces.map((name) => core.deleteNamespace({ name })));
});

describe("local control plane", () => {
  it("serves TLS that verifies against the kubeconfig's CA and has a Ready kwok node", async () => {
    const cluster = kc.getCurrentCluster();
    expect(cluster?.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(cluster?.skipTLSVerify ?? false).toBe(false);
    const nodes = await core.listNode({ labelSelector: "type=kwok" });
    expect(nodes.items.length).toBeGreaterThanOrEqual(1);
    const node = nodes.items[0];
    expect(node?.metadata?.annotations?.["kwok.x-k8s.io/node"]).toBe("fake");
    expect(node?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(ipv4InCidr(node?.spec?.podCIDR?.split("/")[0] ?? "", POD_IP_RANGE)).toBe(true);
  });

  it("schedules a Deployment's pods on the kwok node, Running and Ready with IPs in 10.250.0.0/16", async () => {
    const namespace = await testNamespace("cp-deploy");
    await apps.createNamespacedDeployment({ namespace, body: deployment("web", 2) });

    const pods = await readyPods(namespace, "web", 2);
    for (const pod of pods) {
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-\d+$/);
      expect(ipv4InCidr(pod.status?.podIP ?? "", POD_IP_RANGE)).toBe(true);
    }
    expect(new Set(pods.map((p) => p.status?.podIP)).size).toBe(2);

    const status = await eventually("deployment web to report 2 available replicas", async () => {
      const d = await apps.readNamespacedDeployment({ name: "web", namespace });
      return d.status?.availableReplicas === 2 ? d.status : undefined;
    });
    expect(status.readyReplicas).toBe(2);
  });

  it("publishes an EndpointSlice with both pod IPs as ready endpoints of a Service", async () => {
    const namespace = await testNamespace("cp-svc");
    await apps.createNamespacedDeployment({ namespace, body: deployment("api", 2) });
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: "api" },
        spec: { selector: { app: "api" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      },
    });
    const pods = await readyPods(namespace, "api", 2);
    const podIPs = pods.map((p) => p.status?.podIP).sort();

    const service = await core.readNamespacedService({ name: "api", namespace });
    expect(ipv4InCidr(service.spec?.clusterIP ?? "", "10.96.0.0/16")).toBe(true);

    const readyIPs = await eventually("EndpointSlice of service api to list both pods as ready", async () => {
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: "kubernetes.io/service-name=api",
      });
      const ips = slices.items
        .flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.conditions?.ready === true)
        .flatMap((e) => e.addresses)
        .sort();
      return JSON.stringify(ips) === JSON.stringify(podIPs) ? ips : undefined;
    });
    expect(readyIPs).toHaveLength(2);
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace,
      labelSelector: "kubernetes.io/service-name=api",
    });
    expect(slices.items[0]?.ports?.[0]?.port).toBe(8080);
  });

  it("garbage-collects a deleted Deployment's ReplicaSet and Pods", async () => {
    const namespace = await testNamespace("cp-gc");
    await apps.createNamespacedDeployment({ namespace, body: deployment("gc", 2) });
    await readyPods(namespace, "gc", 2);
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: "app=gc" });
    expect(replicaSets.items).toHaveLength(1);
    expect(replicaSets.items[0]?.metadata?.ownerReferences?.[0]?.kind).toBe("Deployment");

    await apps.deleteNamespacedDeployment({ name: "gc", namespace, propagationPolicy: "Background" });

    await eventually("ReplicaSets and Pods of deployment gc to be garbage-collected", async () => {
      const [rs, pods] = await Promise.all([
        apps.listNamespacedReplicaSet({ namespace, labelSelector: "app=gc" }),
        core.listNamespacedPod({ namespace, labelSelector: "app=gc" }),
      ]);
      return rs.items.length === 0 && pods.items.length === 0 ? true : undefined;
    });
  });

  it("finishes deleting a namespace that holds workloads", async () => {
    const namespace = await testNamespace("cp-nsdel");
    await apps.createNamespacedDeployment({ namespace, body: deployment("doomed", 1) });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "cfg" }, data: { a: "b" } } });
    await readyPods(namespace, "doomed", 1);

    await core.deleteNamespace({ name: namespace });
    await eventuallyGone(`namespace ${namespace}`, () => core.readNamespace({ name: namespace }), 90_000);
  });

  it("enforces RBAC: a ServiceAccount token may not list secrets cluster-wide", async () => {
    const namespace = await testNamespace("cp-rbac");
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "robot" } } });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: "robot",
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token;
    expect(token).toBeTruthy();
    const robot = kubeConfigWithToken(kc, token ?? "");

    // The token authenticates (so a failure below is authorization, not authentication) ...
    const review = await robot.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${namespace}:robot`);

    // ... but RBAC grants it nothing: listing secrets cluster-wide is forbidden.
    const error = await robot
      .makeApiClient(CoreV1Api)
      .listSecretForAllNamespaces()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(403);

    // The admin user can.
    await expect(core.listSecretForAllNamespaces()).resolves.toBeDefined();
  });
});
