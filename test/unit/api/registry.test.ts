import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { AGENT, AGENT_TEAM, DELEGATION } from "../../../src/api/kinds.ts";
import { LABEL_AGENT, LABEL_DELEGATION, LABEL_TEAM, MANAGED_BY_SELECTOR } from "../../../src/api/labels.ts";
import { AGENT_KIND, AGENT_TEAM_KIND, DELEGATION_KIND, ObjectSchemaError } from "../../../src/api/registry.ts";
import { InvalidObjectError } from "../../../src/runtime/apply.ts";
import { IndexedStore, objectKey } from "../../../src/runtime/store.ts";

const rawAgent = (name: string, spec: Record<string, unknown> = {}): KubernetesObject =>
  ({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name, namespace: "ns", uid: `${name}-uid` },
    spec: { soul: "# Soul", model: { primary: "openai/gpt-5" }, ...spec },
  }) as KubernetesObject;

describe("the kind registry", () => {
  it("gives each kind its resource, from the same definition as its CRD", () => {
    expect(AGENT_KIND.gvr).toEqual({ group: "clawcrew.io", version: "v1alpha1", plural: "agents" });
    expect(AGENT_TEAM_KIND.gvr.plural).toBe(AGENT_TEAM.plural);
    expect(DELEGATION_KIND.gvr.plural).toBe(DELEGATION.plural);
    expect(AGENT_KIND.definition).toBe(AGENT);
    expect([AGENT_KIND.kind, AGENT_TEAM_KIND.kind, DELEGATION_KIND.kind]).toEqual(["Agent", "AgentTeam", "Delegation"]);
    expect(AGENT_KIND.apiVersion).toBe("clawcrew.io/v1alpha1");
  });

  it("parses an object with the schema's defaults", () => {
    const agent = AGENT_KIND.parse(rawAgent("writer"));
    expect(agent.spec.replicas).toBe(1);
    expect(agent.metadata.name).toBe("writer");
  });

  it("throws an ObjectSchemaError naming the object and the failing field", () => {
    const bad = rawAgent("writer", { model: { primary: "no-slash" } });
    const error = (() => {
      try {
        AGENT_KIND.parse(bad);
      } catch (e) {
        return e;
      }
    })() as ObjectSchemaError;
    expect(error).toBeInstanceOf(ObjectSchemaError);
    expect(error).toMatchObject({ kind: "Agent", namespace: "ns", objectName: "writer", field: "spec.model.primary" });
    expect(error.message).toMatch(/^Agent ns\/writer does not match the schema: spec\.model\.primary: /);
    expect(error.details).toMatch(/^spec\.model\.primary: must have the form provider\/model/);
    expect(() => DELEGATION_KIND.parse(undefined)).toThrow(/Delegation \(unnamed\) does not match/);
  });

  it("remembers a parse per object, and tells of a mismatch once", () => {
    const obj = rawAgent("writer");
    expect(AGENT_KIND.parseCached(obj)).toBe(AGENT_KIND.parseCached(obj));
    const bad = rawAgent("broken", { replicas: -1 });
    const heard: string[] = [];
    expect(AGENT_KIND.parseCached(bad, (e) => heard.push(e.field))).toBeUndefined();
    expect(AGENT_KIND.parseCached(bad, (e) => heard.push(e.field))).toBeUndefined();
    expect(heard).toEqual(["spec.replicas"]);
  });

  it("checks a Delegation without copying it, and looks Delegations up the same way", () => {
    const d = {
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "Delegation",
      metadata: { name: "d", namespace: "ns", uid: "d-uid" },
      spec: { to: "writer", task: "Write.", priority: 0 },
    } as KubernetesObject;
    expect(DELEGATION_KIND.checkedCached(d)).toBe(d);
    const cache = new IndexedStore<KubernetesObject>();
    cache.set(objectKey(d), d);
    expect(DELEGATION_KIND.lookup(cache, "ns", "d")).toBe(d);
    const bad = { ...d, spec: { to: "writer" } } as KubernetesObject; // no task
    const heard: string[] = [];
    expect(DELEGATION_KIND.checkedCached(bad, (e) => heard.push(e.field))).toBeUndefined();
    expect(DELEGATION_KIND.checkedCached(bad, (e) => heard.push(e.field))).toBeUndefined();
    expect(heard).toEqual(["spec.task"]);
  });

  it("looks a parsed object up in a cache by namespace and name", () => {
    const cache = new IndexedStore<KubernetesObject>();
    const obj = rawAgent("writer");
    cache.set(objectKey(obj), obj);
    expect(AGENT_KIND.lookup(cache, "ns", "writer")?.spec.replicas).toBe(1);
    expect(AGENT_KIND.lookup(cache, "ns", "missing")).toBeUndefined();
  });

  it("builds owner references with the kind's apiVersion, controller by default", () => {
    const team = { apiVersion: "clawcrew.io/v0", kind: "Whatever", metadata: { name: "t", uid: "t-uid" } };
    expect(AGENT_TEAM_KIND.ownerReference(team)).toEqual({
      apiVersion: "clawcrew.io/v1alpha1",
      kind: "AgentTeam",
      name: "t",
      uid: "t-uid",
      controller: true,
      blockOwnerDeletion: true,
    });
    expect(DELEGATION_KIND.ownerReference(team, { controller: false, blockOwnerDeletion: false })).toMatchObject({
      kind: "Delegation",
      controller: false,
      blockOwnerDeletion: false,
    });
    expect(() => AGENT_KIND.ownerReference({ metadata: { name: "no-uid" } })).toThrow(InvalidObjectError);
  });

  it("labels derived objects with the managed-by label the operator's caches select on", () => {
    const [key, value] = MANAGED_BY_SELECTOR.split("=");
    for (const kind of [AGENT_KIND, AGENT_TEAM_KIND, DELEGATION_KIND]) expect(kind.labels("x")[key!]).toBe(value);
    expect(AGENT_KIND.labels("writer")[LABEL_AGENT]).toBe("writer");
    expect(AGENT_TEAM_KIND.labels("company")[LABEL_TEAM]).toBe("company");
    expect(DELEGATION_KIND.labels("d-1")[LABEL_DELEGATION]).toBe("d-1");
  });
});
