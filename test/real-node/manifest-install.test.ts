/**
 * `kubectl apply -f deploy/clawcrew.yaml` on a real node: the operator's namespace enforces the
 * restricted Pod Security Standard, and its two replicas start from the image with in-cluster config.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installSignalCleanup } from "../../hack/cluster/process.ts";
import { NODE_NAME, type RealCluster, startRealCluster } from "../../hack/cluster/real-node/index.ts";
import { installClawcrew, OPERATOR_NAMESPACE } from "../../hack/cluster/real-node/install.ts";
import { isReady, type Obj } from "../integration/support/namespace-api.ts";
import { kubectlOk } from "../support/kubectl.ts";

describe("clawcrew from deploy/clawcrew.yaml on a real node", () => {
  let cluster: RealCluster | undefined;
  let removeSignalCleanup: (() => void) | undefined;
  const get = async (args: string[]): Promise<Obj> =>
    JSON.parse(await kubectlOk(cluster!.kubeconfigPath, ["get", ...args, "-o", "json"]));

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("the real node needs root");
    removeSignalCleanup = installSignalCleanup();
    cluster = await startRealCluster({ log: (m) => process.stderr.write(`[real-node] ${m}\n`) });
    await installClawcrew(cluster.kubeconfigPath, { method: "manifest" });
  }, 3_600_000);

  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      removeSignalCleanup?.();
    }
  }, 300_000);

  it("admits the operator under the restricted Pod Security Standard and runs both replicas, one leading", async () => {
    const ns = await get(["namespace", OPERATOR_NAMESPACE]);
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const pods = (await get(["-n", OPERATOR_NAMESPACE, "pods", "-l", "app.kubernetes.io/name=clawcrew"]))
      .items as Obj[];
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(isReady(pod)).toBe(true);
      expect(pod.spec.nodeName).toBe(NODE_NAME);
      expect(pod.spec.containers[0].image).toBe("ghcr.io/clawcrew/clawcrew-operator:0.1.0");
    }
    const holder = (await get(["-n", OPERATOR_NAMESPACE, "lease", "clawcrew-operator"])).spec.holderIdentity;
    expect(pods.map((p) => p.metadata.name)).toContain(holder);
  });
});
