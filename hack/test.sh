#!/usr/bin/env bash
# The project's test command: installs what it needs (Node 24, npm packages, control-plane
# binaries), then runs lint, type checks, the CRD freshness check and every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLAWCREW_CACHE="${CLAWCREW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawcrew}"

step() { printf '\n==> %s\n' "$*"; }

step "control-plane binaries"
hack/control-plane-bins.sh
step "npm ci"
hack/node24.sh npm ci --no-audit --no-fund
step "lint"
hack/node24.sh npm run --silent lint
step "typecheck"
hack/node24.sh npm run --silent typecheck
step "CRDs match src/api"
hack/node24.sh npm run --silent verify:crds
step "tests"
hack/node24.sh npx vitest run "$@"
