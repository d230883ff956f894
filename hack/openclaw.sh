#!/usr/bin/env bash
# Installs the pinned OpenClaw once into the cache outside the repo and prints the path of
# its `openclaw.mjs` entry point (run it with Node 24: hack/node24.sh node "$(hack/openclaw.sh)").
#
# npm 11 skips the package's install scripts (its allow-scripts policy), so they are run here
# by hand: the postinstall prunes stale dist files, restores @openclaw/fs-safe's native addon
# when npm left it out, and clears `.openclaw-lifecycle-pending`. Without that the first
# `openclaw` run would try to finish the lifecycle itself, writing into the package directory.
set -euo pipefail
OPENCLAW_VERSION=2026.9.6 # keep in step with src/openclaw/version.ts
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${CLAWCREW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawcrew}"
DIR="$CACHE/openclaw-$OPENCLAW_VERSION"
PKG="$DIR/node_modules/openclaw"

installed() {
  [[ -f "$PKG/openclaw.mjs" && ! -e "$PKG/.openclaw-lifecycle-pending" ]] &&
    grep -q "\"version\": \"$OPENCLAW_VERSION\"" "$PKG/package.json"
}

if ! installed; then
  mkdir -p "$CACHE"
  exec 9>"$CACHE/openclaw-$OPENCLAW_VERSION.lock"
  flock 9 # concurrent callers (parallel test files) wait for one installer
  if ! installed; then
    if [[ ! -f "$PKG/openclaw.mjs" ]]; then
      echo "[openclaw] installing openclaw@$OPENCLAW_VERSION from the npm registry into $DIR" >&2
      rm -rf "$DIR.tmp"
      mkdir -p "$DIR.tmp"
      "$HERE/node24.sh" npm install --prefix "$DIR.tmp" --no-save --no-package-lock --ignore-scripts \
        --no-audit --no-fund --loglevel=error "openclaw@$OPENCLAW_VERSION" >&2
      rm -rf "$DIR"
      mv "$DIR.tmp" "$DIR"
    fi
    echo "[openclaw] running openclaw's install scripts" >&2
    (cd "$PKG" && "$HERE/node24.sh" sh -c \
      'node scripts/preinstall-package-manager-warning.mjs && node scripts/postinstall-bundled-plugins.mjs') >&2
    installed || { echo "[openclaw] install of openclaw@$OPENCLAW_VERSION is incomplete in $DIR" >&2; exit 1; }
  fi
fi
echo "$PKG/openclaw.mjs"
