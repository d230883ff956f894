import { describe, expect, it } from "vitest";
import { createMetrics } from "../../../src/operator/metrics.ts";

describe("createMetrics", () => {
  it("reports the latest work-queue depth and active workers per controller at scrape time", async () => {
    const metrics = createMetrics();
    const agent = { controller: "agent", kind: "Agent" };
    const delegation = { controller: "delegation", kind: "Delegation" };
    metrics.controllers.queueDepth(agent, 7);
    metrics.controllers.activeWorkers(agent, 2);
    metrics.controllers.queueDepth(delegation, 1);
    let text = await metrics.registry.metrics();
    expect(text).toMatch(/^workqueue_depth\{controller="agent",kind="Agent"\} 7$/m);
    expect(text).toMatch(/^workqueue_depth\{controller="delegation",kind="Delegation"\} 1$/m);
    expect(text).toMatch(/^controller_runtime_active_workers\{controller="agent",kind="Agent"\} 2$/m);

    metrics.controllers.queueDepth(agent, 0);
    metrics.controllers.activeWorkers(agent, 3);
    text = await metrics.registry.metrics();
    expect(text).toMatch(/^workqueue_depth\{controller="agent",kind="Agent"\} 0$/m);
    expect(text).toMatch(/^controller_runtime_active_workers\{controller="agent",kind="Agent"\} 3$/m);
  });
});
