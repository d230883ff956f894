/**
 * The lead's delegation token, through the operator process against the real API server: the endpoint
 * accepts it, refuses the same agent's gateway token (creating nothing), and after the key is deleted
 * from the Secret the operator puts a new one back and the old one is refused (docs/security.md §5).
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
const ns = uniqueName("credential");
let operator: OperatorProcess;

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from kubectl
type Obj = Record<string, any>;

const agent = (name: string): Obj => ({
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "Agent",
  metadata: { name },
  spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" } },
});

const tokenSecret = async (): Promise<Obj> =>
  JSON.parse(await kubectlOk(kubeconfig, ["-n", ns, "get", "secret", "lead-token", "-o", "json"]));
const decoded = (secret: Obj, key: string): string | undefined =>
  secret.data?.[key] === undefined ? undefined : Buffer.from(secret.data[key], "base64").toString();

const delegate = (token: string, task: string) =>
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

const leadEnv = async (): Promise<Obj[]> =>
  JSON.parse(await kubectlOk(kubeconfig, ["-n", ns, "get", "deployment", "lead", "-o", "json"])).spec.template.spec
    .containers[0].env;

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  operator = await startOperator(kubeconfig, `${ns}-op`, [`--namespace=${ns}`, `--leader-election-namespace=${ns}`]);
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
  await eventually("the lead's token Secret with both tokens", async () => {
    const r = await kubectl(kubeconfig, ["-n", ns, "get", "secret", "lead-token", "-o", "json"]);
    const secret = r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
    return secret?.data?.token && secret.data["delegation-token"] ? true : undefined;
  });
});

afterAll(async () => {
  await operator?.stop();
  await kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"]);
});

describe("the lead's delegation token", () => {
  it("is a value of its own, and the lead's pods get it for the MCP client", async () => {
    const secret = await tokenSecret();
    expect(decoded(secret, "delegation-token")).not.toBe(decoded(secret, "token"));
    expect(decoded(secret, "delegation-token")!.length).toBeGreaterThanOrEqual(40);
    const env = await eventually("the lead's pods to get the delegation token", async () => {
      const found = await leadEnv();
      return found.some((e) => e.name === "CLAWCREW_DELEGATION_TOKEN") ? found : undefined;
    });
    expect(env.find((e) => e.name === "CLAWCREW_DELEGATION_TOKEN")?.valueFrom).toEqual({
      secretKeyRef: { name: "lead-token", key: "delegation-token" },
    });
    const config = JSON.parse(
      await kubectlOk(kubeconfig, [
        "-n",
        ns,
        "get",
        "configmap",
        "lead-config",
        "-o",
        "jsonpath={.data.openclaw\\.json}",
      ]),
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
    expect(config.mcp.servers.clawcrew.headers).toEqual({ Authorization: "Bearer ${CLAWCREW_DELEGATION_TOKEN}" });
  });

  it("delegates as the lead; the lead's gateway token gets 401 and creates nothing", async () => {
    const secret = await tokenSecret();
    const delegation = decoded(secret, "delegation-token")!;
    // The endpoint knows the token once its cache has the Secret.
    const accepted = await eventually("the endpoint to accept the lead's delegation token", async () => {
      const r = await delegate(delegation, "with the delegation token");
      return r.status === 202 ? r : undefined;
    });
    expect(((await accepted.json()) as Obj).delegation).toBeTruthy();
    const before = await fromLead();
    expect(before).toBe(1);
    const refused = await delegate(decoded(secret, "token")!, "with the gateway token");
    expect(refused.status).toBe(401);
    const body = (await refused.json()) as Obj;
    expect(body.error.code).toBe("Unauthenticated");
    expect(body.error.message).toContain("delegation token");
    expect(await fromLead()).toBe(before);
  });

  it("is regenerated when its key is deleted: a new value, the old one refused, and the lead's pods roll", async () => {
    const secret = await tokenSecret();
    const old = decoded(secret, "delegation-token")!;
    const gateway = decoded(secret, "token")!;
    const hashBefore = JSON.parse(await kubectlOk(kubeconfig, ["-n", ns, "get", "deployment", "lead", "-o", "json"]))
      .spec.template.metadata.annotations["clawcrew.io/config-hash"];
    await kubectlOk(kubeconfig, [
      "-n",
      ns,
      "patch",
      "secret",
      "lead-token",
      "--type=json",
      "-p",
      JSON.stringify([{ op: "remove", path: "/data/delegation-token" }]),
    ]);
    const renewed = await eventually("the operator to put a new delegation token back", async () => {
      const value = decoded(await tokenSecret(), "delegation-token");
      return value && value !== old ? value : undefined;
    });
    const after = await tokenSecret();
    expect(decoded(after, "token")).toBe(gateway);
    expect(after.metadata.uid).toBe(secret.metadata.uid);
    await eventually("the lead's Deployment to roll with the new token's hash", async () => {
      const deploy = JSON.parse(await kubectlOk(kubeconfig, ["-n", ns, "get", "deployment", "lead", "-o", "json"]));
      return deploy.spec.template.metadata.annotations["clawcrew.io/config-hash"] !== hashBefore ? true : undefined;
    });
    await eventually("the endpoint to accept the new delegation token", async () => {
      const r = await delegate(renewed, "with the new delegation token");
      return r.status === 202 ? true : undefined;
    });
    const before = await fromLead();
    expect((await delegate(old, "with the old delegation token")).status).toBe(401);
    expect(await fromLead()).toBe(before);
  });
});
