#!/usr/bin/env bash
# Runs clawcrew on a local cluster with an example team, until Ctrl-C.
#   hack/dev.sh [example-dir]         a real node (root): the operator installed by helm from its image,
#                                     real OpenClaw pods, the stub LLM or your ANTHROPIC_API_KEY/OPENAI_API_KEY
#   hack/dev.sh --sim [example-dir]   the fast kwok mode: simulated pods answered by stub gateways
# The default example is ceo (examples/README.md lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=(--real)
if [[ ${1:-} == --sim ]]; then mode=(--operator); shift; fi
hack/control-plane-bins.sh >/dev/null
[[ ${mode[0]} == --real ]] && hack/real-node-deps.sh
hack/node24.sh npm install --no-audit --no-fund >/dev/null
exec hack/node24.sh node hack/local-cluster.ts "${mode[@]}" --example "${1:-ceo}" \
  --kubeconfig "${TMPDIR:-/tmp}/clawcrew-dev.kubeconfig"
