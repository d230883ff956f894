import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageEntrypoint, repoRoot } from "../../../harness/index.ts";

describe("the image's ENTRYPOINT", () => {
  const { nodeArgs, entry } = imageEntrypoint();

  it("runs what `npm run build` makes of src/main.ts", () => {
    const build = JSON.parse(readFileSync(join(repoRoot, "tsconfig.build.json"), "utf8")) as {
      compilerOptions: { outDir: string; rootDir: string };
    };
    expect(build.compilerOptions.rootDir).toBe("src");
    expect(entry).toBe(`${build.compilerOptions.outDir}/main.js`);
  });

  it("sets its environment with plain ENV KEY=value lines", () => {
    expect(imageEntrypoint().env).toMatchObject({ NODE_ENV: "production" });
  });

  it("gives node flags that this Node accepts", () => {
    expect(nodeArgs.length).toBeGreaterThan(0);
    const run = spawnSync(process.execPath, [...nodeArgs, "-e", "0"], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
