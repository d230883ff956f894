/**
 * `kubectl apply -f deploy/clawcrew.yaml` on a real node: the operator's namespace enforces the
 * restricted Pod Security Standard, and its two replicas start from the image with in-cluster config.
 */
import { describe, expect, it } from "vitest";
import { isReady, type Obj } from "../../harness/index.ts";
import { installClawcrew, NODE_NAME, OPERATOR_NAMESPACE } from "../../harness/real-node/index.ts";
import { useRealCluster } from "./support/cluster.ts";

describe("clawcrew from deploy/clawcrew.yaml on a real node", () => {
  const { get } = useRealCluster("real-node manifest", ({ cluster }) =>
    installClawcrew(cluster.kubeconfigPath, { method: "manifest" }),
  );

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
