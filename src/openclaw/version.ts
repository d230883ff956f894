/** The OpenClaw release this operator renders for and is tested against (also pinned in hack/openclaw.sh). */
export const OPENCLAW_VERSION = "2026.9.6";

/** The official image of that release. */
export const DEFAULT_IMAGE = `ghcr.io/openclaw/openclaw:${OPENCLAW_VERSION}`;

/** The gateway's port (HTTP and WebSocket on one listener). */
export const GATEWAY_PORT = 18789;

/** Facts about the official image: it runs as user `node` from the package at /app, under tini. */
export const IMAGE_USER_ID = 1000;
export const IMAGE_GROUP_ID = 1000;
export const IMAGE_HOME = "/home/node";
export const IMAGE_WORKDIR = "/app";

/** OpenClaw's JSON Schema for openclaw.json, as this release prints it (see hack/regenerate-openclaw-schema.ts). */
export const CONFIG_SCHEMA_FILE = new URL("./openclaw-config.schema.json", import.meta.url);
