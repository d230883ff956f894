/**
 * The test harness: what tests, benchmarks and hack/ scripts start and drive a cluster with. This entry
 * holds the local control plane, kubectl and KubeConfig helpers, the operator as a process, the stub
 * LLM, the faulty proxy and every harness error (errors.ts). Three more entries, kept apart because
 * they need root or a test runner, or clash in names with this one:
 * - podnet/index.ts: the test pod network (network namespaces at kwok pods' IPs; root);
 * - real-node/index.ts: a real node on the control plane, and installing clawcrew with helm (root);
 * - vitest.ts: clients of the cluster that the integration tests' global setup provides (inject()).
 */
export * from "./control-plane/index.ts";
export { freePorts } from "./control-plane/ports.ts";
export { installSignalCleanup, tailFile } from "./control-plane/process.ts";
export * from "./errors.ts";
export * from "./faulty-proxy.ts";
export * from "./gitops-health.ts";
export * from "./helm.ts";
export * from "./jaeger.ts";
export * from "./kube.ts";
export * from "./kubectl.ts";
export * from "./kubectl-in.ts";
export * from "./manifests.ts";
export * from "./namespace-api.ts";
export * from "./operator-process.ts";
export * from "./stub-llm.ts";
