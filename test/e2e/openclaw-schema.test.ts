import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { printOpenClawSchema } from "../../hack/regenerate-openclaw-schema.ts";
import { CONFIG_SCHEMA_FILE } from "../../src/openclaw/version.ts";

describe("committed OpenClaw config schema", () => {
  it("is what the pinned openclaw prints", () => {
    const printed = printOpenClawSchema();
    const committed = readFileSync(CONFIG_SCHEMA_FILE, "utf8");
    expect(
      printed === committed,
      "src/openclaw/openclaw-config.schema.json is stale: run hack/node24.sh node hack/regenerate-openclaw-schema.ts",
    ).toBe(true);
  });
});
