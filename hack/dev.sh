#!/usr/bin/env bash
# Runs the operator on a local cluster with the hub-and-spoke example team, until Ctrl-C.
#   hack/dev.sh [example-dir]      (default: hub-and-spoke)
set -euo pipefail
cd "$(dirname "$0")/.."
hack/control-plane-bins.sh >/dev/null
hack/node24.sh npm install --no-audit --no-fund >/dev/null
exec hack/node24.sh node hack/local-cluster.ts --operator --example "${1:-hub-and-spoke}" --kubeconfig "${TMPDIR:-/tmp}/clawcrew-dev.kubeconfig"
