/**
 * ControlPlane.restart (used by bench/soak.ts): kube-apiserver and etcd stop and start again with the same
 * command line; etcd keeps its data, the API server its address and certificate, so clients carry on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../../../harness/index.ts";
import { KubeClient } from "../../../src/runtime/client.ts";

let cp: ControlPlane;
let client: KubeClient;
const path = "/api/v1/namespaces/default/configmaps";

beforeAll(async () => {
  cp = await startControlPlane({ log: () => {} });
  client = KubeClient.load({ kubeconfig: cp.kubeconfigPath });
}, 180_000);
afterAll(async () => {
  client?.close();
  await cp?.stop();
}, 60_000);

describe("control plane restart", () => {
  it("restarts etcd keeping its data, then kube-apiserver, with the same clients working after each", async () => {
    await client.request("POST", path, { body: { metadata: { name: "before" }, data: { k: "v" } } });
    const etcdPid = cp.processes.find((p) => p.name === "etcd")?.pid;
    await cp.restart("etcd");
    expect(cp.processes.find((p) => p.name === "etcd")?.pid).not.toBe(etcdPid);
    // The API server reconnects to etcd by itself; the object written before is still there.
    const read = async () => {
      for (let i = 0; ; i++) {
        try {
          return await client.get<{ data: Record<string, string> }>(`${path}/before`);
        } catch (error) {
          if (i > 100) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    };
    expect((await read()).data).toEqual({ k: "v" });

    const apiserverPid = cp.processes.find((p) => p.name === "kube-apiserver")?.pid;
    await cp.restart("kube-apiserver", { kill: true });
    expect(cp.processes.find((p) => p.name === "kube-apiserver")?.pid).not.toBe(apiserverPid);
    expect((await read()).data).toEqual({ k: "v" });
    await client.request("POST", path, { body: { metadata: { name: "after" } } });
    const names = (await client.get<{ items: { metadata: { name: string } }[] }>(path)).items.map(
      (c) => c.metadata.name,
    );
    expect(names).toEqual(expect.arrayContaining(["before", "after"]));
  }, 180_000);
});
