import { Registry } from "prom-client";
import { expect, it } from "vitest";
import { ScalingMetrics } from "../../../src/scaling/metrics.ts";

it("exposes clawcrew_agent_* gauges per namespace and agent, and drops forgotten agents", async () => {
  const registry = new Registry();
  const metrics = new ScalingMetrics(registry);
  metrics.record("ns/a", { namespace: "ns", agent: "a", queued: 5, inFlight: 2, desired: 3, current: 2 });
  metrics.record("ns/b", { namespace: "ns", agent: "b", queued: 0, inFlight: 0, desired: 0, current: 0 });
  const text = await registry.metrics();
  expect(text).toContain('clawcrew_agent_delegations_queued{namespace="ns",agent="a"} 5');
  expect(text).toContain('clawcrew_agent_delegations_in_flight{namespace="ns",agent="a"} 2');
  expect(text).toContain('clawcrew_agent_replicas_desired{namespace="ns",agent="a"} 3');
  expect(text).toContain('clawcrew_agent_replicas_current{namespace="ns",agent="a"} 2');
  expect(text).toContain('clawcrew_agent_replicas_desired{namespace="ns",agent="b"} 0');
  metrics.forget("ns/b");
  expect(await registry.metrics()).not.toContain('agent="b"');
  metrics.clear();
  expect(await registry.metrics()).not.toContain('agent="a"');
});
