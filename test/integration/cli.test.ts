/**
 * The clawcrew CLI as a real process (node src/cli/main.ts) against the real API server, with the
 * Delegation controller running in-process and stub gateways on loopback standing in for agent pods
 * (as delegation-controller.test.ts does). Asserts the CLI's output and exit codes.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { eventually, installCrds, kubectlOk, uniqueName } from "../../harness/index.ts";
import { testLogger } from "../../harness/vitest.ts";
import type { Delegation } from "../../src/api/delegation.ts";
import { createDelegationController, type DelegationController } from "../../src/delegation/controller.ts";
import { summarizeFinished } from "../../src/delegation/finished-summary.ts";
import type { PodEndpoint } from "../../src/delegation/pod-endpoints.ts";
import { KubeClient } from "../../src/runtime/client.ts";
import { Informer } from "../../src/runtime/informer.ts";
import { resourcePath } from "../../src/runtime/resource.ts";

const kubeconfig = inject("kubeconfig");
const ns = uniqueName("cli");
const CLI = path.resolve(import.meta.dirname, "../../src/cli/main.ts");
const GVR = {
  delegations: { group: "clawcrew.io", version: "v1alpha1", plural: "delegations" },
  agents: { group: "clawcrew.io", version: "v1alpha1", plural: "agents" },
  teams: { group: "clawcrew.io", version: "v1alpha1", plural: "agentteams" },
  slices: { group: "discovery.k8s.io", version: "v1", plural: "endpointslices" },
  secrets: { group: "", version: "v1", plural: "secrets" },
};
// biome-ignore lint/suspicious/noExplicitAny: JSON objects
type Obj = Record<string, any>;

const client = KubeClient.load({ kubeconfig });
const post = (gvr: (typeof GVR)[keyof typeof GVR], body: Obj) =>
  client.request<Obj>("POST", resourcePath(gvr, { namespace: ns }), { body });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with this cluster's kubeconfig and namespace; NO_COLOR so output is plain even on a TTY. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, `--kubeconfig=${kubeconfig}`, "-n", ns],
      { env: { ...process.env, NO_COLOR: "1" }, timeout: 90_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

// ------------------------------------------------------------------ stub gateways: one per pod

interface StubBehaviour {
  delayMs?: number;
  /** Answers with this HTTP status instead (400: not worth another attempt). */
  failWith?: number;
  reply?: (task: string) => string;
}

const stubs = new Map<string, { server: Server; port: number }>();

async function startStub(pod: string, token: string, behaviour: StubBehaviour): Promise<void> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end();
      if (behaviour.failWith) return void res.writeHead(behaviour.failWith).end("no such model");
      const task = String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as Obj).messages.at(-1).content);
      const timer = setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        const content = behaviour.reply ? behaviour.reply(task) : `done:${task}`;
        res.end(JSON.stringify({ choices: [{ message: { role: "assistant", content } }] }));
      }, behaviour.delayMs ?? 0);
      res.on("close", () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stubs.set(pod, { server, port: (server.address() as AddressInfo).port });
}

const resolve = (_ns: string, _agent: string, e: PodEndpoint) => {
  const stub = stubs.get(e.pod);
  return stub ? { host: "127.0.0.1", port: stub.port } : undefined;
};

/** An Agent, its token Secret and a ready EndpointSlice for its one "pod" (no Agent controller runs). */
async function createAgent(name: string, behaviour: StubBehaviour = {}, spec: Obj = {}): Promise<void> {
  const agent = await post(GVR.agents, {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name },
    spec: { description: `The ${name}.`, soul: `# ${name}`, model: { primary: "openai/gpt-5" }, replicas: 1, ...spec },
  });
  const managed = { "app.kubernetes.io/managed-by": "clawcrew", "clawcrew.io/agent": name };
  const token = `tok-${name}-${Math.random().toString(16).slice(2)}`;
  await post(GVR.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `${name}-token`,
      labels: managed,
      ownerReferences: [
        { apiVersion: "clawcrew.io/v1alpha1", kind: "Agent", name, uid: agent.metadata.uid, controller: true },
      ],
    },
    stringData: { token },
  });
  const pod = `${name}-0`;
  await startStub(pod, token, behaviour);
  await post(GVR.slices, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${name}-slice`, labels: { ...managed, "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 18789, protocol: "TCP" }],
    endpoints: [
      {
        addresses: ["10.250.8.1"],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: "Pod", name: pod, namespace: ns, uid: `uid-${pod}` },
      },
    ],
  });
}

// ------------------------------------------------------------------ the controller

let informers: Informer<KubernetesObject>[] = [];
let controller: DelegationController | undefined;

async function startController(): Promise<void> {
  const informer = (resource: Obj, labelSelector?: string, transform?: (o: KubernetesObject) => KubernetesObject) =>
    new Informer<KubernetesObject>({
      client,
      resource: resource as (typeof GVR)["agents"],
      namespace: ns,
      ...(labelSelector && { labelSelector }),
      ...(transform && { transform }),
      logger: testLogger,
    });
  const managed = "app.kubernetes.io/managed-by=clawcrew";
  const delegations = informer(GVR.delegations, undefined, summarizeFinished);
  const agents = informer(GVR.agents);
  const teams = informer(GVR.teams);
  const endpointSlices = informer(GVR.slices, managed);
  const secrets = informer(GVR.secrets, managed);
  informers = [delegations, agents, teams, endpointSlices, secrets];
  controller = createDelegationController({
    client,
    delegations,
    agents,
    teams,
    endpointSlices,
    secrets,
    resolve,
    logger: testLogger,
    backoff: { initialMs: 200, maxMs: 1000 },
  });
  for (const i of informers) i.start();
  await controller.controller.start();
}

beforeAll(async () => {
  await installCrds(kubeconfig);
  await kubectlOk(kubeconfig, ["create", "namespace", ns]);
  await createAgent("ceo");
  await createAgent("researcher", { reply: (task) => `found:${task}` }, { capabilities: ["research"] });
  await createAgent("broken", { failWith: 400 });
  await createAgent("slow", { delayMs: 60_000 });
  await createAgent("long", { reply: () => "ü".repeat(30_000) });
  await post(GVR.teams, {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "AgentTeam",
    metadata: { name: "company" },
    spec: {
      pattern: "hubAndSpoke",
      lead: "ceo",
      members: [{ agent: "researcher", role: "research" }, { agent: "broken" }, { agent: "slow" }, { agent: "long" }],
    },
  });
  await startController();
});

afterAll(async () => {
  await controller?.stop({ graceMs: 5000 });
  await Promise.all(informers.map((i) => i.stop()));
  for (const { server } of stubs.values()) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  await kubectlOk(kubeconfig, ["delete", "namespace", ns, "--wait=false"]).catch(() => undefined);
  client.close();
});

const createdName = (stderr: string) => /delegation\.clawcrew\.io\/(\S+) created/.exec(stderr)?.[1];

describe("clawcrew CLI", () => {
  it("delegate --wait prints progress on stderr, the result on stdout, and exits 0", async () => {
    const run = await cli("delegate", "--team", "company", "--to", "researcher", "find X", "--wait");
    expect(run).toMatchObject({ code: 0, stdout: "found:find X\n" });
    expect(run.stderr).toMatch(/attempt 1: running on agent researcher, pod researcher-0/);
    expect(run.stderr).toMatch(/Succeeded after /);
  });

  it("delegate --capability routes through the team to the member that has it", async () => {
    const run = await cli("delegate", "--team", "company", "--capability", "research", "look up Y", "-w");
    expect(run).toMatchObject({ code: 0, stdout: "found:look up Y\n" });
  });

  it("delegate --wait exits 1 with the reason when the Delegation fails", async () => {
    const run = await cli("delegate", "--team", "company", "--to", "broken", "do it", "--wait");
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/Failed \(AgentError\) after .*400/);
    const name = createdName(run.stderr)!;
    const described = await cli("describe", name);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/Outcome: +Failed \(AgentError\)/);
    expect(described.stdout).toMatch(/^ {2}1 +broken +broken-0 .* Failed +AgentError/m);
    const result = await cli("result", name);
    expect(result.code).toBe(1);
  });

  it("delegate --timeout that expires ends TimedOut and exits 124", async () => {
    const run = await cli("delegate", "--team", "company", "--to", "slow", "take ages", "--wait", "--timeout", "2s");
    expect(run.code).toBe(124);
    expect(run.stderr).toMatch(/TimedOut after /);
  });

  it("result prints a long result whole, from the ConfigMap status.resultRef names", async () => {
    const run = await cli("delegate", "--team", "company", "--to", "long", "write a lot", "--wait");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${"ü".repeat(30_000)}\n`);
    const name = createdName(run.stderr)!;
    const d = await client.get<Delegation>(resourcePath(GVR.delegations, { namespace: ns, name }));
    expect(d.status?.resultRef?.name).toBeTruthy();
    const result = await cli("result", name, "-o", "json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ name, outcome: "Succeeded", result: "ü".repeat(30_000) });
  });

  it("cancel sets the annotation and the Delegation ends Cancelled", async () => {
    const created = await cli("delegate", "--team", "company", "--to", "slow", "never mind");
    expect(created.code).toBe(0);
    const name = /delegation\.clawcrew\.io\/(\S+) created/.exec(created.stdout)![1]!;
    await eventually(`${name} to run`, async () => {
      const d = await client.get<Delegation>(resourcePath(GVR.delegations, { namespace: ns, name }));
      return d.status?.phase === "Running" ? d : undefined;
    });
    const cancelled = await cli("cancel", name);
    expect(cancelled).toMatchObject({ code: 0, stdout: `delegation.clawcrew.io/${name} cancel requested\n` });
    const d = await eventually(`${name} to end`, async () => {
      const d = await client.get<Delegation>(resourcePath(GVR.delegations, { namespace: ns, name }));
      return d.status?.phase === "Failed" ? d : undefined;
    });
    expect(d.status?.reason).toBe("Cancelled");
  });

  it("status lists the team, its members and the last delegations", async () => {
    const run = await cli("status", "company", "--last", "20");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Team company {2}pattern hubAndSpoke {2}lead ceo/);
    expect(run.stdout).toMatch(/^ {2}researcher +research +\S+ +0\/1 +0 +0$/m);
    expect(run.stdout).toMatch(/^ {2}\S+ +broken +Failed \(AgentError\) /m);
    expect(run.stdout).toMatch(/^ {2}\S+ +slow +TimedOut /m);
    const json = JSON.parse((await cli("status", "-o", "json")).stdout);
    expect(json.teams.map((t: Obj) => t.team)).toEqual(["company"]);
  });

  it("delegate --team alone hands the task to the team, which routes it to its lead", async () => {
    const run = await cli("delegate", "--team", "company", "for the lead", "--wait", "-o", "json");
    expect(run.code, run.stderr).toBe(0);
    const d = JSON.parse(run.stdout) as Delegation;
    expect(d.spec).toMatchObject({ team: "company", task: "for the lead" });
    expect(d.spec.to).toBeUndefined();
    expect(d.status).toMatchObject({ phase: "Succeeded", agent: "ceo" });
  });

  it("bad arguments: a one-line error naming the flag, exit 2", async () => {
    const unknown = await cli("delegate", "--to", "researcher", "x", "--bogus");
    expect(unknown).toMatchObject({ code: 2, stdout: "" });
    expect(unknown.stderr).toBe("error: delegate: unknown option '--bogus'\n");
    const both = await cli("delegate", "--team", "company", "--to", "a", "--capability", "b", "x");
    expect(both).toMatchObject({ code: 2, stderr: "error: delegate: --to and --capability are mutually exclusive\n" });
    const nowhere = await cli("delegate", "x");
    expect(nowhere).toMatchObject({ code: 2, stderr: "error: delegate: --team or --to is required\n" });
    const timeout = await cli("delegate", "--to", "a", "x", "--timeout", "soon");
    expect(timeout).toMatchObject({ code: 2 });
    expect(timeout.stderr).toMatch(/^error: --timeout: "soon" is not a duration/);
    const output = await cli("status", "-o", "xml");
    expect(output).toMatchObject({ code: 2, stderr: 'error: status: --output must be json or yaml, not "xml"\n' });
  });

  it("a missing Delegation is an error naming it, exit 1", async () => {
    const run = await cli("describe", "nope");
    expect(run).toMatchObject({ code: 1, stderr: `error: Delegation "nope" not found in namespace ${ns}\n` });
  });

  it("--context-file passes earlier messages; --help works on every command", async () => {
    const file = path.join(tmpdir(), `${ns}-context.json`);
    writeFileSync(file, JSON.stringify([{ role: "user", content: "earlier" }]));
    const run = await cli(
      "delegate",
      "--team",
      "company",
      "--to",
      "researcher",
      "go",
      "--context-file",
      file,
      "-o",
      "json",
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).spec.context).toEqual([{ role: "user", content: "earlier" }]);
    for (const command of ["delegate", "status", "result", "cancel", "describe"]) {
      const help = await cli(command, "--help");
      expect(help).toMatchObject({ code: 0 });
      expect(help.stdout).toMatch(new RegExp(`^Usage: clawcrew ${command}`));
    }
  });
});
