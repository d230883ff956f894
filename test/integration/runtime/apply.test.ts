/** Server-side apply, status apply, owner references and deletes against the real API server. */
import { randomBytes } from "node:crypto";
import type { KubernetesObject, V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, eventuallyGone } from "../../../harness/index.ts";
import { TestResources } from "../../../harness/vitest.ts";
import {
  apply,
  applyStatus,
  deleteIgnoringNotFound,
  FIELD_MANAGER,
  InvalidObjectError,
  ownerReference,
} from "../../../src/runtime/apply.ts";
import { setCondition } from "../../../src/runtime/conditions.ts";
import { FieldValidationError, isInvalid, isNotFound, type KubeApiError } from "../../../src/runtime/errors.ts";
import { NoKindMatchError } from "../../../src/runtime/restmapper.ts";

/** A CRD with a status subresource, unique to this run (CRDs are cluster-scoped). */
const GROUP = `runtime-${randomBytes(3).toString("hex")}.clawcrew.test`;
const WIDGET_API_VERSION = `${GROUP}/v1`;

interface Widget extends KubernetesObject {
  spec?: { size?: number; color?: string };
  status?: { phase?: string; conditions?: ReturnType<typeof setCondition> };
}

let t: TestResources;
let namespace: string;

const cm = (name: string, data: Record<string, string>, extra: Record<string, unknown> = {}): V1ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data,
  ...extra,
});

async function readConfigMap(name: string): Promise<V1ConfigMap> {
  return t.core.readNamespacedConfigMap({ name, namespace });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  t = new TestResources();
  namespace = await t.namespace("rt-apply");
  const crdName = `widgets.${GROUP}`;
  await t.client.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
    body: {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: crdName },
      spec: {
        group: GROUP,
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: { type: "object", properties: { size: { type: "integer" }, color: { type: "string" } } },
                  status: {
                    type: "object",
                    properties: {
                      phase: { type: "string" },
                      conditions: {
                        type: "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["type"],
                        items: {
                          type: "object",
                          required: ["type", "status", "lastTransitionTime", "reason", "message"],
                          properties: {
                            type: { type: "string" },
                            status: { type: "string" },
                            observedGeneration: { type: "integer" },
                            lastTransitionTime: { type: "string", format: "date-time" },
                            reason: { type: "string" },
                            message: { type: "string" },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        ],
      },
    },
  });
  t.defer(() => t.client.request("DELETE", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`));
  await eventually("the Widget CRD to be served", async () => {
    const list = await t.client.get<{ resources: { kind: string }[] }>(`/apis/${GROUP}/v1`);
    return list.resources.some((r) => r.kind === "Widget") ? true : undefined;
  });
});

afterAll(async () => {
  await t.cleanup();
});

describe("apply (server-side apply)", () => {
  it("creates and updates with the clawcrew-operator field manager, removing fields it no longer sends", async () => {
    const created = await apply(t.client, cm("ssa", { a: "1", b: "2" }));
    expect(created.metadata?.uid).toBeTruthy();
    const managers = created.metadata?.managedFields?.map((f) => `${f.manager}:${f.operation}`);
    expect(managers).toEqual([`${FIELD_MANAGER}:Apply`]);

    await apply(t.client, cm("ssa", { a: "1" }));
    expect((await readConfigMap("ssa")).data).toEqual({ a: "1" });
  });

  it("forces ownership back from another field manager", async () => {
    await apply(t.client, cm("forced", { a: "mine" }));
    // Someone else takes data.a with an update of their own.
    await t.client.request("PATCH", `/api/v1/namespaces/${namespace}/configmaps/forced`, {
      body: { data: { a: "theirs" } },
      contentType: "application/merge-patch+json",
      query: { fieldManager: "someone-else" },
    });
    const applied = await apply(t.client, cm("forced", { a: "mine" }));
    expect(applied.data).toEqual({ a: "mine" });
    const owners = applied.metadata?.managedFields ?? [];
    expect(owners.find((f) => f.manager === FIELD_MANAGER)?.fieldsV1).toHaveProperty(["f:data", "f:a"]);
    expect(owners.find((f) => f.manager === "someone-else")?.fieldsV1 ?? {}).not.toHaveProperty(["f:data", "f:a"]);
  });

  it("rejects an unknown field (Strict field validation) with a clear KubeApiError and stores nothing", async () => {
    // Custom resources: the field is reported by path, and nothing is stored.
    const widget = (name: string): Widget => ({
      apiVersion: WIDGET_API_VERSION,
      kind: "Widget",
      metadata: { name, namespace },
      spec: { size: 1, colour: "red" } as Widget["spec"],
    });
    const error = await rejection(apply(t.client, widget("strict")));
    expect(error).toBeInstanceOf(FieldValidationError);
    expect(isInvalid(error)).toBe(true); // not worth retrying, although the server answers 500
    const apiError = error as KubeApiError;
    expect(apiError.statusMessage).toMatch(/\.spec\.colour: field not declared in schema/);
    expect(apiError.message).toContain(`PATCH /apis/${GROUP}/v1/namespaces/${namespace}/widgets/strict`);
    const widgetPath = `/apis/${GROUP}/v1/namespaces/${namespace}/widgets`;
    expect(isNotFound(await rejection(t.client.get(`${widgetPath}/strict`)))).toBe(true);
    // Built-in kinds.
    const builtin = (await rejection(
      apply(t.client, cm("strict", { a: "1" }, { spec: { replicas: 1 } })),
    )) as KubeApiError;
    expect(builtin).toBeInstanceOf(FieldValidationError);
    expect(builtin.statusMessage).toMatch(/\.spec: field not declared in schema/);
    expect(isNotFound(await rejection(readConfigMap("strict")))).toBe(true);
  });

  it("dryRun validates without storing", async () => {
    const result = await apply(t.client, cm("dry", { a: "1" }), { dryRun: true });
    expect(result.data).toEqual({ a: "1" });
    expect(isNotFound(await rejection(readConfigMap("dry")))).toBe(true);
  });

  it("applyStatus writes the status subresource only; apply of the main resource ignores status", async () => {
    const widget: Widget = {
      apiVersion: WIDGET_API_VERSION,
      kind: "Widget",
      metadata: { name: "w1", namespace },
      spec: { size: 3 },
      status: { phase: "Ignored" },
    };
    const created = await apply(t.client, widget);
    expect(created.spec).toEqual({ size: 3 });
    expect(created.status).toBeUndefined();

    const conditions = setCondition([], {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
      message: "ok",
      observedGeneration: created.metadata?.generation,
    });
    const withStatus = await applyStatus<Widget>(t.client, {
      apiVersion: WIDGET_API_VERSION,
      kind: "Widget",
      metadata: { name: "w1", namespace },
      status: { phase: "Ready", conditions },
    });
    expect(withStatus.status).toEqual({ phase: "Ready", conditions });
    expect(withStatus.spec).toEqual({ size: 3 }); // untouched
    expect(withStatus.metadata?.generation).toBe(created.metadata?.generation); // status does not bump it
    const statusEntry = withStatus.metadata?.managedFields?.find((f) => f.subresource === "status");
    expect(statusEntry?.manager).toBe(FIELD_MANAGER);
  });

  it("reports a kind the API does not serve as NoKindMatchError", async () => {
    const error = await rejection(
      apply(t.client, { apiVersion: WIDGET_API_VERSION, kind: "Gadget", metadata: { name: "g", namespace } }),
    );
    expect(error).toBeInstanceOf(NoKindMatchError);
    const missingNamespace = await rejection(
      apply(t.client, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }),
    );
    expect(missingNamespace).toBeInstanceOf(InvalidObjectError);
  });
});

describe("ownerReference and deleteIgnoringNotFound", () => {
  it("builds a controller reference that the garbage collector honours", async () => {
    const owner = await apply(t.client, cm("owner", { role: "owner" }));
    const ref = ownerReference(owner);
    expect(ref).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "owner",
      uid: owner.metadata?.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
    expect(() => ownerReference(cm("not-read-from-api", {}))).toThrow(InvalidObjectError);

    await apply(t.client, {
      ...cm("child", { role: "child" }),
      metadata: { name: "child", namespace, ownerReferences: [ref] },
    });
    expect(await deleteIgnoringNotFound(t.client, owner, { propagationPolicy: "Background" })).toBe(true);
    await eventuallyGone("child ConfigMap (garbage-collected)", () => readConfigMap("child"), 60_000);
    expect(await deleteIgnoringNotFound(t.client, owner)).toBe(false);
  });

  it("deletes only the expected uid when one is given", async () => {
    const first = await apply(t.client, cm("recreated", { v: "1" }));
    await deleteIgnoringNotFound(t.client, first);
    await eventuallyGone("recreated", () => readConfigMap("recreated"));
    await apply(t.client, cm("recreated", { v: "2" }));
    const error = await rejection(deleteIgnoringNotFound(t.client, first, { uid: first.metadata?.uid }));
    expect((error as KubeApiError).statusCode).toBe(409); // precondition failed: another object now
    expect((await readConfigMap("recreated")).data).toEqual({ v: "2" });
  });
});
