/**
 * The delegation endpoint's per-caller limits and its shutdown, through the operator process against
 * the real API server: over its burst a lead gets 429 with Retry-After and nothing is created; on
 * SIGTERM a pending long poll is answered 503 at once and does not hold the exit (docs/security.md).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
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
const ns = uniqueName("limits");
let operator: OperatorProcess;
let token = "";

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from kubectl
type Obj = Record<string, any>;

const agent = (name: string): Obj => ({
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "Agent",
  metadata: { name },
  spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" } },
});

const delegate = (task: string) =>
  fetch(`http://${operator.delegation()}/v1/delegations?wait=false`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ agent: "worker", task }),
  });

const fromLead = async () =>
  (
    JSON.parse(
      await kubectlOk(kubeconfig, ["-n", ns, "get", "delegations", "-l", "clawcrew.io/from=lead", "-o", "json"]),
    ).items as Obj[]
  ).length;

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  // A slow refill, so the test sees the burst run out; no pods answer, so nothing finishes.
  operator = await startOperator(kubeconfig, `${ns}-op`, [
    `--namespace=${ns}`,
    `--leader-election-namespace=${ns}`,
    "--delegation-rate-per-second=0.01",
    "--delegation-burst=3",
    "--delegation-max-outstanding=5",
  ]);
  await kubectlOk(kubeconfig, ["-n", ns, "apply", "-f", "-"], {
    apiVersion: "v1",
    kind: "List",
    items: [
      agent("lead"),
      agent("worker"),
      {
        apiVersion: "clawcrew.io/v1alpha1",
        kind: "AgentTeam",
        metadata: { name: "crew" },
        spec: { pattern: "hubAndSpoke", lead: "lead", members: [{ agent: "worker" }] },
      },
    ],
  });
  token = await eventually("the lead's delegation token", async () => {
    const r = await kubectl(kubeconfig, [
      "-n",
      ns,
      "get",
      "secret",
      "lead-token",
      "-o",
      "jsonpath={.data.delegation-token}",
    ]);
    return r.code === 0 && r.stdout ? Buffer.from(r.stdout, "base64").toString() : undefined;
  });
  // The endpoint knows the token once its cache has the Secret.
  await eventually("the endpoint to accept the lead", async () => {
    const r = await fetch(`http://${operator.delegation()}/v1/team`, { headers: { authorization: `Bearer ${token}` } });
    return r.status === 200 ? true : undefined;
  });
});

afterAll(async () => {
  await operator?.stop();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("the delegation endpoint's per-caller limits", () => {
  it("admits a caller's burst, then answers 429 with Retry-After and creates nothing", async () => {
    for (let i = 0; i < 3; i++) expect((await delegate(`task ${i}`)).status).toBe(202);
    const refused = await delegate("one too many");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("TooManyRequests");
    expect(body.error.message).toContain(`agent ${ns}/lead creates Delegations faster than 0.01/s`);
    await eventually("the cache to hold the three", async () => ((await fromLead()) === 3 ? true : undefined));
    expect(await fromLead()).toBe(3);
  });

  it("answers a pending long poll 503 on SIGTERM, and exits without waiting for its Delegation", async () => {
    // Its team does not exist yet: the operator keeps it Pending for 30 s in case the team is applied later.
    const name = "waits-for-its-team";
    await kubectlOk(kubeconfig, ["-n", ns, "create", "-f", "-"], {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Delegation",
      metadata: { name },
      spec: { team: "applied-later", from: "lead", to: "worker", task: "wait" },
    });
    const poll = fetch(`http://${operator.delegation()}/v1/delegations/${name}?wait=true`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const t0 = performance.now();
    const exit = operator.stop();
    const answer = await poll;
    expect(answer.status).toBe(503);
    const body = (await answer.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("ShuttingDown");
    expect(body.error.message).toContain("the Delegation goes on");
    expect(await exit).toBe(0);
    // Well inside a pod's 30 s grace period; the poll would have waited for the Delegation to end.
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
