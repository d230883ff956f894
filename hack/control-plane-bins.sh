#!/usr/bin/env bash
# Builds the local control-plane binaries from the Go module proxy at pinned versions,
# cached outside the repo. envtest convention: binaries found in KUBEBUILDER_ASSETS or on
# PATH are used first. Prints one "name=path" line per binary (also saved in $CACHE/bins.env).
#
#   hack/control-plane-bins.sh            # ensure all, print "name=path" lines
#
# Concurrent runs are serialised with a lock in the cache, so a second run waits for the first
# build instead of clobbering it. A cold build takes several minutes on 2 cores.
set -euo pipefail
shopt -s inherit_errexit # failures inside $(...) stop the script too

K8S_VERSION="${CLAWCREW_K8S_VERSION:-v1.33.13}"
ETCD_VERSION="${CLAWCREW_ETCD_VERSION:-v3.5.35}"
KWOK_VERSION="${CLAWCREW_KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${CLAWCREW_HELM_VERSION:-v3.22.0}"
# The real node's NetworkPolicy engine (docs/real-node.md says why this one).
KUBE_ROUTER_VERSION="${CLAWCREW_KUBE_ROUTER_VERSION:-v2.1.0}"

CACHE="${CLAWCREW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawcrew}"
BIN="$CACHE/bin"
SRC="$CACHE/src"
mkdir -p "$BIN" "$SRC"
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local

log() { echo "[control-plane-bins] $*" >&2; }

exec 9>"$CACHE/.bins.lock"
if ! flock -n 9; then
  log "another control-plane-bins.sh is running; waiting for it"
  flock 9
fi

# lookup NAME VERSION: an existing binary per envtest's convention, or "".
lookup() {
  local name=$1
  if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$name" ]]; then echo "$KUBEBUILDER_ASSETS/$name"; return; fi
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  if [[ -x "$BIN/$name-$2" ]]; then echo "$BIN/$name-$2"; return; fi
  echo ""
}

# Binaries are built into the source dir and moved into $BIN only when complete, so an
# interrupted build never leaves a truncated binary that a later run would take as built.
build_kubernetes() {
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local staging=v0.${K8S_VERSION#v1.}
  local dir="$SRC/kubernetes-$K8S_VERSION"
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy $K8S_VERSION (several minutes)"
  go mod init clawcrew.local/kubernetes-bins >/dev/null 2>&1
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [[ -f "$gomod" ]] || { log "cannot find go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  # Each staging module (k8s.io/x => ./staging/src/k8s.io/x) is replaced by its published version.
  local mods
  mods=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\1#p' "$gomod" | sort -u)
  [[ -n "$mods" ]] || { log "no staging modules found in $gomod"; exit 1; }
  local args=()
  for m in $mods; do args+=("-replace=$m=$m@$staging"); done
  go mod edit "${args[@]}"
  log "replaced $(echo "$mods" | wc -l) staging modules with $staging"
  # Each command is named, or go build stops on go.sum entries that only its packages need.
  go get "k8s.io/kubernetes@$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kubelet@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-proxy@$K8S_VERSION" >/dev/null
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  mkdir -p out
  go build -trimpath -ldflags "$ldflags" -o out/ \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do mv "out/$b" "$BIN/$b-$K8S_VERSION"; done
}

build_etcd() {
  local dir="$SRC/etcd-$ETCD_VERSION"
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  log "building etcd $ETCD_VERSION"
  go mod init clawcrew.local/etcd-bin >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
  go build -trimpath -ldflags "-s -w" -o out/etcd go.etcd.io/etcd/server/v3
  mv out/etcd "$BIN/etcd-$ETCD_VERSION"
}

build_simple() { # NAME MODULE PACKAGE VERSION [EXTRA_LDFLAGS]
  local dir="$SRC/$1-$4"
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  log "building $1 $4"
  go mod init "clawcrew.local/$1-bin" >/dev/null 2>&1
  go get "$2@$4" >/dev/null
  go build -trimpath -ldflags "-s -w ${5:-}" -o "out/$1" "$3"
  mv "out/$1" "$BIN/$1-$4"
}

ensure() { # NAME VERSION BUILDER...
  local name=$1 version=$2; shift 2
  local found; found=$(lookup "$name" "$version")
  if [[ -z "$found" ]]; then
    local start=$SECONDS
    ( "$@" )
    log "built $name $version in $((SECONDS - start)) s"
    found="$BIN/$name-$version"
  fi
  echo "$name=$found"
}

out=$(
  ensure etcd "$ETCD_VERSION" build_etcd
  ensure kube-apiserver "$K8S_VERSION" build_kubernetes
  ensure kube-controller-manager "$K8S_VERSION" build_kubernetes
  ensure kube-scheduler "$K8S_VERSION" build_kubernetes
  ensure kubelet "$K8S_VERSION" build_kubernetes
  ensure kube-proxy "$K8S_VERSION" build_kubernetes
  ensure kwok "$KWOK_VERSION" build_simple kwok sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" \
    "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
  ensure helm "$HELM_VERSION" build_simple helm helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
    "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ensure kube-router "$KUBE_ROUTER_VERSION" build_simple kube-router github.com/cloudnativelabs/kube-router/v2 \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION" \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
)
printf '%s\n' "$out" >"$CACHE/bins.env.tmp"
mv "$CACHE/bins.env.tmp" "$CACHE/bins.env"
printf '%s\n' "$out"
