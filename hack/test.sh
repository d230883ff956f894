#!/usr/bin/env bash
# The project's test command: installs what it needs (Node 24, npm packages, control-plane
# binaries), then runs lint, type checks, the CRD and chart-docs freshness checks and every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLAWCREW_CACHE="${CLAWCREW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawcrew}"

step() { printf '\n==> %s\n' "$*"; }

step "control-plane and node binaries"
hack/control-plane-bins.sh
step "Debian packages of the real node and the image builds"
hack/real-node-deps.sh
command -v kubectl >/dev/null || { echo "kubectl is required on PATH" >&2; exit 1; }
step "npm install (from package-lock.json)"
# Not `npm ci`: the registry reachable here lacks biome's binaries for other platforms, which
# npm ci insists on finding in the lock file. Versions are pinned exactly, so install is as strict.
hack/node24.sh npm install --no-audit --no-fund
step "lint"
hack/node24.sh npm run --silent lint
step "typecheck"
hack/node24.sh npm run --silent typecheck
step "CRDs match src/api"
hack/node24.sh npm run --silent verify:crds
step "the chart's values table matches values.schema.json and values.yaml"
hack/node24.sh npm run --silent verify:chart-docs
step "helm lint, deploy/ matches the chart"
helm=$(sed -n 's/^helm=//p' "$CLAWCREW_CACHE/bins.env")
"$helm" lint --strict charts/clawcrew
hack/gen-deploy.sh --check
if [[ $# -gt 0 ]]; then
  step "tests: vitest run $*"
  exec hack/node24.sh npx vitest run "$@"
fi
step "tests: unit, integration, e2e"
hack/node24.sh npx vitest run --project unit --project integration --project e2e
# Alone, since it runs a real node with real OpenClaw pods (the first run builds the images).
step "images of the real node (built once, then cached)"
hack/images.sh >/dev/null
step "tests: real-node"
hack/node24.sh npx vitest run --project real-node
