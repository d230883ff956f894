import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SCHEMA_IDLE_MS, schemaLoaded, validateOpenClawConfig } from "../../../src/openclaw/schema.ts";

describe("validateOpenClawConfig", () => {
  beforeAll(() => vi.useFakeTimers());
  afterAll(() => vi.useRealTimers());

  it("keeps the schema only while new configs come, and remembers results by content", () => {
    expect(validateOpenClawConfig({ gateway: { port: 18789 } })).toEqual({ ok: true });
    expect(schemaLoaded()).toBe(true);

    vi.advanceTimersByTime(SCHEMA_IDLE_MS);
    expect(schemaLoaded()).toBe(false);

    // The same content again (a new object): answered without the schema.
    expect(validateOpenClawConfig({ gateway: { port: 18789 } })).toEqual({ ok: true });
    expect(schemaLoaded()).toBe(false);

    const bad = validateOpenClawConfig({ gateway: { port: "eighty" } });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.problems).toEqual([expect.stringContaining("gateway.port")]);
    expect(schemaLoaded()).toBe(true);

    vi.advanceTimersByTime(SCHEMA_IDLE_MS - 1);
    expect(schemaLoaded()).toBe(true);
    vi.advanceTimersByTime(1);
    expect(schemaLoaded()).toBe(false);
  });
});
