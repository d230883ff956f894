#!/usr/bin/env bash
# For Docker users: the same steps as hack/dev.sh's real node, on kind. Not run in this project's CI
# (its machines have no Docker engine); docs/real-node.md says so.
#   hack/kind.sh [example-dir]        create cluster "clawcrew", build and load the images, helm install, apply
#   hack/kind.sh --delete             delete the cluster
# kind's default CNI does not enforce NetworkPolicy; install one (Calico, Cilium) to see the team's policies act.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER=clawcrew
if [[ ${1:-} == --delete ]]; then exec kind delete cluster --name "$CLUSTER"; fi
for tool in docker kind kubectl; do command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }; done

OPENCLAW_VERSION=$(sed -n 's/^export const OPENCLAW_VERSION = "\(.*\)";/\1/p' src/openclaw/version.ts)
OPERATOR_VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/clawcrew/Chart.yaml)
# The same names as hack/images.sh, so the chart's and the operator's defaults need no override.
images=("ghcr.io/clawcrew/clawcrew-operator:$OPERATOR_VERSION" "ghcr.io/openclaw/openclaw:$OPENCLAW_VERSION"
  clawcrew.local/stub-llm:dev)

kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER"
docker build -t "${images[0]}" .
docker build --build-arg "OPENCLAW_VERSION=$OPENCLAW_VERSION" -t "${images[1]}" images/openclaw
docker build -f images/stub-llm/Dockerfile -t "${images[2]}" .
kind load docker-image --name "$CLUSTER" "${images[@]}"

kubeconfig="${TMPDIR:-/tmp}/clawcrew-kind.kubeconfig"
kind get kubeconfig --name "$CLUSTER" >"$kubeconfig"
hack/control-plane-bins.sh >/dev/null # helm, at the pinned version
hack/node24.sh npm install --no-audit --no-fund >/dev/null
hack/node24.sh node hack/install-example.ts --kubeconfig "$kubeconfig" --example "${1:-ceo}"
cat <<EOT

Done. In another shell:
  export KUBECONFIG=$kubeconfig
  kubectl get clawcrew
  kubectl get delegations -w
hack/kind.sh --delete removes the cluster.
EOT
