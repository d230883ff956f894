/** The event recorder writing events.k8s.io/v1 Events to the real API server. */
import { Writable } from "node:stream";
import type { EventsV1Event, V1ConfigMap } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultyProxy } from "../../../harness/index.ts";
import { connectionVia, TestResources, testLogger } from "../../../harness/vitest.ts";
import { KubeClient } from "../../../src/runtime/client.ts";
import { EventRecorder, REPORTING_CONTROLLER } from "../../../src/runtime/events.ts";

let t: TestResources;
let namespace: string;
let subject: V1ConfigMap;

beforeAll(async () => {
  t = new TestResources();
  namespace = await t.namespace("rt-events");
  subject = await t.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "subject" } } });
  subject = { apiVersion: "v1", kind: "ConfigMap", ...subject };
});

afterAll(async () => {
  await t.cleanup();
});

async function eventsAbout(name: string): Promise<EventsV1Event[]> {
  const list = await t.client.get<{ items: EventsV1Event[] }>(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
  return list.items.filter((e) => e.regarding?.name === name);
}

/** A pino logger whose JSON lines end up in `lines`. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(JSON.parse(String(chunk)));
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

describe("EventRecorder", () => {
  it("creates one Event per (object, reason, note) and counts repeats in its series", async () => {
    const recorder = new EventRecorder({ client: t.client, reportingInstance: "operator-pod-0", logger: testLogger });
    recorder.event(subject, "Normal", "Provisioned", "gateway ready");
    recorder.event(subject, "Normal", "Provisioned", "gateway ready");
    recorder.event(subject, "Normal", "Provisioned", "gateway ready");
    recorder.event(subject, "Warning", "ProvisioningFailed", "quota exceeded", { action: "CreatePod" });
    await recorder.flush();

    const events = await eventsAbout("subject");
    expect(events).toHaveLength(2);
    const provisioned = events.find((e) => e.reason === "Provisioned");
    expect(provisioned).toMatchObject({
      type: "Normal",
      note: "gateway ready",
      action: "Provisioned",
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: "operator-pod-0",
      regarding: { kind: "ConfigMap", name: "subject", namespace, uid: subject.metadata?.uid },
      series: { count: 3 },
    });
    const failed = events.find((e) => e.reason === "ProvisioningFailed");
    expect(failed).toMatchObject({ type: "Warning", action: "CreatePod" });
    expect(failed?.series).toBeUndefined(); // seen once
  });

  it("never throws into the caller and logs failures with the object's namespace and name", async () => {
    const proxy = await FaultyProxy.start(t.kc.getCurrentCluster()!.server);
    t.defer(() => proxy.close());
    proxy.setMode("refuse");
    const client = new KubeClient(connectionVia(t.connection, proxy.url), { timeoutMs: 2_000 });
    t.defer(() => client.close());
    const { logger, lines } = capturingLogger();
    const recorder = new EventRecorder({ client, logger });

    expect(() => recorder.event(subject, "Warning", "ReconcileFailed", "boom")).not.toThrow();
    expect(() => recorder.event({ metadata: {} }, "Normal", "Nameless", "no name")).not.toThrow();
    await recorder.flush();

    const failure = lines.find((l) => l.msg === "recording an event failed");
    expect(failure).toMatchObject({ namespace, name: "subject", reason: "ReconcileFailed", statusCode: 0 });
    expect(lines.some((l) => l.msg === "not recording an event about an object without kind or name")).toBe(true);
    expect(await eventsAbout("subject")).not.toContainEqual(expect.objectContaining({ reason: "ReconcileFailed" }));
  });
});
