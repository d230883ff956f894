// A persistent workspace gives each replica its own volume: the Agent runs as a StatefulSet.
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import {
  eventually,
  installCrds,
  kubectl,
  kubectlOk,
  type OperatorProcess,
  startOperator,
  uniqueName,
} from "../../harness/index.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("workspace");
let operator: OperatorProcess;

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from kubectl
const getJson = async (ref: string): Promise<any> => {
  const r = await kubectl(kubeconfig, ["-n", ns, "get", ref, "-o", "json"]);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
};
const applyAgent = (spec: Record<string, unknown>) =>
  kubectlOk(kubeconfig, ["-n", ns, "apply", "-f", "-"], {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name: "archivist" },
    spec: { soul: "You keep notes.", model: { primary: "openai/gpt-5" }, replicas: 2, ...spec },
  });

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  operator = await startOperator(kubeconfig, `${ns}-op`, [`--namespace=${ns}`, "--leader-elect=false"]);
});

afterAll(async () => {
  await operator?.stop();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

it("runs a StatefulSet with one ReadWriteOnce claim per replica, and swaps back to a Deployment", async () => {
  await applyAgent({ workspace: { persistent: true, size: "3Gi", storageClassName: "standard" } });
  const sts = await eventually("a StatefulSet", () => getJson("statefulset/archivist"));
  expect(sts.spec.replicas).toBe(2);
  expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "3Gi" } },
    storageClassName: "standard",
  });
  const claims = await eventually("a claim per replica", async () => {
    const list = JSON.parse(await kubectlOk(kubeconfig, ["-n", ns, "get", "pvc", "-o", "json"])).items as {
      metadata: { name: string };
    }[];
    return list.length === 2 ? list.map((c) => c.metadata.name).sort() : undefined;
  });
  expect(claims).toEqual(["workspace-archivist-0", "workspace-archivist-1"]);
  expect(await getJson("deployment/archivist")).toBeUndefined();

  await applyAgent({ workspace: { persistent: false } });
  await eventually("a Deployment", () => getJson("deployment/archivist"));
  await eventually("the StatefulSet removed", async () =>
    (await getJson("statefulset/archivist")) === undefined ? true : undefined,
  );
  await eventually("Ready on the Deployment", async () => {
    const agent = await getJson("agent/archivist");
    const ready = agent?.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
    return ready?.status === "True" && agent.status.readyReplicas === 2 ? true : undefined;
  });
});
