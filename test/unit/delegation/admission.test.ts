import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { Delegation } from "../../../src/api/delegation.ts";
import { ANNOTATION_ADMITTED } from "../../../src/api/labels.ts";
import type { AgentTeam } from "../../../src/api/team.ts";
import { type AdmissionSources, admit, MISSING_REFERENCE_GRACE_MS } from "../../../src/delegation/admission.ts";
import type { Informer } from "../../../src/runtime/informer.ts";
import { byNamespace, IndexedStore, NAMESPACE_INDEX, objectKey } from "../../../src/runtime/store.ts";

const T0 = Date.parse("2030-01-01T00:00:00Z");

/** An informer's read side over fixed objects, indexed by namespace as every informer is. */
function cache(objects: KubernetesObject[]): Informer<KubernetesObject> {
  const store = new IndexedStore<KubernetesObject>();
  store.addIndexer(NAMESPACE_INDEX, byNamespace);
  for (const o of objects) store.set(objectKey(o), o);
  return store as unknown as Informer<KubernetesObject>;
}

const agent = (name: string, capabilities: string[] = []) => ({
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "Agent",
  metadata: { name, namespace: "ns", uid: `uid-${name}` },
  spec: { model: { primary: "m/x" }, capabilities },
});

const team: AgentTeam = {
  apiVersion: "clawcrew.io/v1alpha1",
  kind: "AgentTeam",
  metadata: { name: "t", namespace: "ns", uid: "uid-t" },
  spec: {
    pattern: "hubAndSpoke",
    lead: "lead",
    members: [{ agent: "worker" }],
    delegation: { maxDepth: 3, defaultTimeoutSeconds: 600, maxAttempts: 3, ttlSecondsAfterFinished: 86400 },
    networkIsolation: true,
  } as AgentTeam["spec"],
};

function delegation(spec: Partial<Delegation["spec"]>, annotations?: Record<string, string>): Delegation {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: {
      name: "d",
      namespace: "ns",
      uid: "uid-d",
      creationTimestamp: new Date(T0).toISOString(),
      ...(annotations && { annotations }),
    },
    spec: { task: "t", priority: 0, ...spec },
  };
}

function sources(
  now = T0,
  objects: { agents?: KubernetesObject[]; teams?: KubernetesObject[] } = {},
): AdmissionSources {
  return {
    agents: cache(objects.agents ?? [agent("lead"), agent("worker", ["code"])]),
    teams: cache(objects.teams ?? [team as unknown as KubernetesObject]),
    delegations: cache([]),
    clock: { now: () => now, setTimer: () => undefined, clearTimer: () => {} },
  };
}

describe("admit", () => {
  it("takes the endpoint's recorded decision without admitting again", () => {
    // The topology no longer allows worker → lead, and the cache holds no team or agents at all:
    // the recorded decision stands.
    const d = delegation({ team: "t", from: "worker", capability: "code" }, { [ANNOTATION_ADMITTED]: "worker,other" });
    expect(admit(d, undefined, sources(T0, { agents: [], teams: [] }))).toEqual({
      admitted: true,
      candidates: ["worker", "other"],
    });
  });

  it("ignores a recorded decision on a Delegation no agent made (no spec.from)", () => {
    const d = delegation({ team: "t", to: "ghost" }, { [ANNOTATION_ADMITTED]: "ghost" });
    expect(admit(d, team, sources())).toMatchObject({ admitted: false, ending: { reason: "Rejected" } });
  });

  it("admits a person's Delegation against the topology", () => {
    expect(admit(delegation({ team: "t", capability: "code" }), team, sources())).toEqual({
      admitted: true,
      candidates: ["worker"],
    });
    expect(admit(delegation({ team: "t", from: "worker", to: "lead" }), team, sources())).toMatchObject({
      admitted: false,
      ending: { phase: "Failed", reason: "Rejected" },
    });
  });

  it("waits for a missing team, then rejects", () => {
    const d = delegation({ team: "late", to: "worker" });
    expect(admit(d, undefined, sources(T0 + 1000))).toEqual({ admitted: false, retryAfterMs: 1000 });
    expect(admit(d, undefined, sources(T0 + MISSING_REFERENCE_GRACE_MS))).toEqual({
      admitted: false,
      ending: { phase: "Failed", reason: "Rejected", message: "AgentTeam late not found" },
    });
  });

  it("waits for a missing parent too, then rejects", () => {
    const d = delegation({ to: "worker", parent: "applied-with-it" });
    expect(admit(d, undefined, sources(T0 + 1000))).toEqual({ admitted: false, retryAfterMs: 1000 });
    expect(admit(d, undefined, sources(T0 + MISSING_REFERENCE_GRACE_MS))).toMatchObject({
      admitted: false,
      ending: { phase: "Failed", reason: "Rejected", message: "NotFound: parent Delegation applied-with-it not found" },
    });
  });

  it("admits a Delegation that already started (by a previous leader) as it is", () => {
    const d = { ...delegation({ team: "gone", to: "worker" }), status: { phase: "Pending" as const, agent: "worker" } };
    expect(admit(d, undefined, sources(T0 + MISSING_REFERENCE_GRACE_MS * 2, { teams: [] }))).toEqual({
      admitted: true,
    });
  });
});
