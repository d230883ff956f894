import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { addDelegationIndexes } from "../../../src/api/indexes.ts";
import { parentOfRequest, runningDelegationsOf } from "../../../src/delegation-endpoint/current-parent.ts";
import { EndpointError } from "../../../src/delegation-endpoint/service.ts";
import { IndexedStore, objectKey } from "../../../src/runtime/store.ts";

function delegation(name: string, to: string, phase?: string, agent?: string): KubernetesObject {
  return {
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Delegation",
    metadata: { name, namespace: "ns", uid: `uid-${name}` },
    spec: { to, task: "t" },
    ...(phase && { status: { phase, ...(agent && { agent }) } }),
  } as KubernetesObject;
}

function cache(...objects: KubernetesObject[]) {
  const store = new IndexedStore<KubernetesObject>();
  addDelegationIndexes(store);
  for (const obj of objects) store.set(objectKey(obj), obj);
  return store;
}

describe("the parent of a request that names none", () => {
  const store = cache(
    delegation("lead-run", "lead", "Running", "lead"),
    delegation("lead-done", "lead", "Succeeded", "lead"),
    delegation("lead-queued", "lead", "Pending"),
    delegation("other-run", "writer", "Running", "writer"),
  );

  it("is the one Delegation the caller is running", () => {
    const running = runningDelegationsOf(store, "ns", "lead");
    expect(running.map((d) => d.metadata.name)).toEqual(["lead-run"]);
    expect(parentOfRequest(undefined, "lead", running)).toBe("lead-run");
  });

  it("is the one named when the request names one", () => {
    expect(parentOfRequest("lead-done", "lead", runningDelegationsOf(store, "ns", "lead"))).toBe("lead-done");
  });

  it("is none when the caller runs nothing (a chain starts here)", () => {
    expect(parentOfRequest(undefined, "ceo", runningDelegationsOf(store, "ns", "ceo"))).toBeUndefined();
    expect(runningDelegationsOf(store, "other", "lead")).toEqual([]);
  });

  it("must be given when the caller runs several: 400 naming them", () => {
    const busy = cache(...["a", "b", "c", "d", "e"].map((n) => delegation(`lead-${n}`, "lead", "Running", "lead")));
    const call = () => parentOfRequest(undefined, "lead", runningDelegationsOf(busy, "ns", "lead"));
    expect(call).toThrow(EndpointError);
    try {
      call();
    } catch (error) {
      expect((error as EndpointError).status).toBe(400);
      expect((error as EndpointError).code).toBe("ParentRequired");
      expect((error as EndpointError).message).toBe(
        "parent is required: lead is running 5 Delegations (lead-a, lead-b, lead-c, and 2 more); pass the one this request is part of",
      );
    }
  });
});
