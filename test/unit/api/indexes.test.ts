import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  addAgentIndexes,
  addDelegationIndexes,
  addTeamIndexes,
  agentScalingMode,
  BY_AGENT,
  BY_PARENT,
  BY_SCALING_MODE,
  BY_TEAM,
  BY_UNFINISHED_CALLER,
  delegationAgents,
  delegationParents,
  delegationTeam,
  teamAgentKeys,
  unfinishedDelegationCaller,
} from "../../../src/api/indexes.ts";
import { IndexedStore, objectKey } from "../../../src/runtime/store.ts";

const object = (kind: string, name: string, rest: Record<string, unknown> = {}): KubernetesObject =>
  ({
    apiVersion: "clawcrew.io/v1alpha1",
    kind,
    metadata: { name, namespace: "ns", uid: `${name}-uid` },
    ...rest,
  }) as KubernetesObject;

const owner = (kind: string, name: string, controller = true, apiVersion = "clawcrew.io/v1alpha1") => ({
  apiVersion,
  kind,
  name,
  uid: `${name}-uid`,
  controller,
});

describe("Delegation index functions", () => {
  it("index by team, by the agents it targets or that does it, and by caller, as keys of its namespace", () => {
    const d = object("Delegation", "d", {
      spec: { team: "company", to: "writer", from: "ceo", task: "t" },
      status: { agent: "writer" },
    });
    expect(delegationTeam(d)).toEqual(["ns/company"]);
    expect(delegationAgents(d)).toEqual(["ns/writer"]);
    expect(unfinishedDelegationCaller(d)).toEqual(["ns/ceo"]);
    expect(unfinishedDelegationCaller({ ...d, status: { phase: "Succeeded" } } as KubernetesObject)).toEqual([]);
    const routed = object("Delegation", "r", {
      spec: { team: "company", capability: "write" },
      status: { agent: "w2" },
    });
    expect(delegationAgents(routed)).toEqual(["ns/w2"]);
    expect(delegationAgents(object("Delegation", "empty"))).toEqual([]);
  });

  it("index by spec.parent and by the Delegation that controls it, nothing else", () => {
    const stage = object("Delegation", "stage-0", { spec: { parent: "p" } });
    stage.metadata!.ownerReferences = [owner("Delegation", "pipeline")];
    expect(delegationParents(stage)).toEqual(["ns/p", "ns/pipeline"]);
    const other = object("Delegation", "x");
    other.metadata!.ownerReferences = [
      owner("Delegation", "not-controller", false),
      owner("Delegation", "other-group", true, "example.com/v1"),
    ];
    expect(delegationParents(other)).toEqual([]);
  });

  it("keep a store's indexes up to date when added to it", () => {
    const store = new IndexedStore<KubernetesObject>();
    addDelegationIndexes(store);
    addDelegationIndexes(store); // a no-op
    const d = object("Delegation", "d", { spec: { team: "company", from: "ceo", parent: "p" } });
    store.set(objectKey(d), d);
    expect(store.indexKeys(BY_TEAM, "ns/company")).toEqual(["ns/d"]);
    expect(store.indexKeys(BY_UNFINISHED_CALLER, "ns/ceo")).toEqual(["ns/d"]);
    expect(store.indexCount(BY_UNFINISHED_CALLER, "ns/ceo")).toBe(1);
    expect(store.indexKeys(BY_PARENT, "ns/p")).toEqual(["ns/d"]);
    expect(store.indexKeys(BY_AGENT, "ns/writer")).toEqual([]);
  });
});

describe("AgentTeam index function", () => {
  it("indexes a team by every agent it names, even when it does not match the schema", () => {
    const team = object("AgentTeam", "org", {
      spec: {
        pattern: "federated",
        lead: "ceo",
        groups: [{ name: "g", lead: "cto", members: ["dev", "ceo"] }],
      },
    });
    expect(teamAgentKeys(team)).toEqual(["ns/ceo", "ns/cto", "ns/dev"]);
    const broken = object("AgentTeam", "broken", { spec: { lead: 7, members: [null, { agent: "x" }], stages: "no" } });
    expect(teamAgentKeys(broken)).toEqual(["ns/x"]);
    const store = new IndexedStore<KubernetesObject>();
    addTeamIndexes(store);
    store.set(objectKey(team), team);
    expect(store.indexKeys(BY_AGENT, "ns/dev")).toEqual(["ns/org"]);
  });
});

describe("Agent index function", () => {
  it("indexes agents with spec.scaling by mode, Operator when unset", () => {
    expect(agentScalingMode(object("Agent", "a", { spec: {} }))).toEqual([]);
    expect(agentScalingMode(object("Agent", "b", { spec: { scaling: { maxReplicas: 3 } } }))).toEqual(["Operator"]);
    const keda = object("Agent", "c", { spec: { scaling: { maxReplicas: 3, mode: "External" } } });
    expect(agentScalingMode(keda)).toEqual(["External"]);
    const store = new IndexedStore<KubernetesObject>();
    addAgentIndexes(store);
    store.set(objectKey(keda), keda);
    expect(store.indexKeys(BY_SCALING_MODE, "External")).toEqual(["ns/c"]);
  });
});
