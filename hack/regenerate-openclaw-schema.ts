/**
 * Writes src/openclaw/openclaw-config.schema.json from `openclaw config schema` of the pinned OpenClaw
 * (installed by hack/openclaw.sh). With --check, exits 1 when the committed file differs.
 *
 *   hack/node24.sh node hack/regenerate-openclaw-schema.ts [--check]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_SCHEMA_FILE } from "../src/openclaw/version.ts";

/** The schema as the pinned OpenClaw prints it, run with an empty state dir so no local plugins leak in. */
export function printOpenClawSchema(): string {
  const installer = fileURLToPath(new URL("openclaw.sh", import.meta.url));
  const entry = execFileSync(installer, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  const home = mkdtempSync(join(tmpdir(), "openclaw-schema-"));
  try {
    return execFileSync(process.execPath, [entry, "config", "schema"], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        OPENCLAW_STATE_DIR: join(home, "state"),
        OPENCLAW_CONFIG_PATH: join(home, "state", "openclaw.json"),
      },
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const printed = printOpenClawSchema();
  if (process.argv.includes("--check")) {
    if (readFileSync(CONFIG_SCHEMA_FILE, "utf8") !== printed) {
      console.error(`${fileURLToPath(CONFIG_SCHEMA_FILE)} differs from \`openclaw config schema\`; regenerate it`);
      process.exit(1);
    }
  } else {
    writeFileSync(CONFIG_SCHEMA_FILE, printed);
  }
}
