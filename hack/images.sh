#!/usr/bin/env bash
# Builds the images the real-node cluster runs, without a Docker daemon (buildah, vfs storage), from
# a Node 24 base made of Debian packages (debootstrap) and the node@24 npm package:
#
#   clawcrew.local/node:24-bookworm              the base (stands in for node:24-slim)
#   registry.k8s.io/pause:3.6                    the sandbox image containerd starts for every pod
#   ghcr.io/clawcrew/clawcrew-operator:<version> the operator, from ./Dockerfile
#   ghcr.io/openclaw/openclaw:<version>          OpenClaw in the official image's layout, from images/openclaw/Dockerfile
#   clawcrew.local/stub-llm:dev                  the stub OpenAI-compatible LLM, from images/stub-llm/Dockerfile
#   clawcrew.local/coredns:dev                   CoreDNS $COREDNS_VERSION with the plugins images/coredns/main.go names
#
# Each image is saved as a docker-archive under $CACHE/images, named after a hash of its inputs, so a
# warm run rebuilds nothing. Prints one "name=archive" line per image.
#
#   hack/images.sh            # build what is missing, print "name=archive" lines
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

NODE_VERSION="${CLAWCREW_NODE_VERSION:-24.21.0}" # keep in step with hack/node24.sh
NPM_VERSION=11.6.2
DEBIAN_SUITE=bookworm
OPENCLAW_VERSION=$(sed -n 's/^export const OPENCLAW_VERSION = "\(.*\)";/\1/p' src/openclaw/version.ts)
OPERATOR_VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/clawcrew/Chart.yaml)
CACHE="${CLAWCREW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawcrew}"
OUT="$CACHE/images"
mkdir -p "$OUT"

BASE_IMAGE=clawcrew.local/node:24-bookworm
PAUSE_IMAGE=registry.k8s.io/pause:3.6
OPERATOR_IMAGE="ghcr.io/clawcrew/clawcrew-operator:$OPERATOR_VERSION"
OPENCLAW_IMAGE="ghcr.io/openclaw/openclaw:$OPENCLAW_VERSION"
STUB_LLM_IMAGE=clawcrew.local/stub-llm:dev
COREDNS_VERSION=v1.14.7
COREDNS_IMAGE=clawcrew.local/coredns:dev

log() { echo "[images] $*" >&2; }
die() { log "$*"; exit 1; }

for tool in buildah debootstrap go npm; do
  command -v "$tool" >/dev/null || die "$tool is missing: run hack/real-node-deps.sh (as root)"
done
[[ $(id -u) -eq 0 ]] || die "building images needs root (buildah with vfs storage, debootstrap)"

exec 9>"$OUT/.lock"
flock -n 9 || { log "another hack/images.sh is running; waiting for it"; flock 9; }

buildah() { command buildah --root "$OUT/storage" --runroot "$OUT/run" --storage-driver vfs "$@"; }

# key FILE...: a short hash of the named files' contents and of the extra words in $KEY_EXTRA.
key() { { cat "$@"; echo "${KEY_EXTRA:-}"; } | sha256sum | cut -c1-16; }

# archive NAME IMAGE KEY: the path of the image's archive for that key.
archive() { echo "$OUT/$1-$3.tar"; }

# save IMAGE ARCHIVE: writes the image as a docker-archive (what `ctr images import` reads), atomically.
save() {
  rm -f "$2.tmp"
  buildah push --quiet "$1" "docker-archive:$2.tmp:$1" >/dev/null
  mv "$2.tmp" "$2"
  # Older archives of the same image are stale: keep the cache from growing with every change.
  local stale; for stale in "${2%-*}"-*.tar; do [[ $stale == "$2" ]] || rm -f "$stale"; done
}

build_base() { # ARCHIVE
  local work="$OUT/base.work" start=$SECONDS ctr mnt
  log "building $BASE_IMAGE: debootstrap $DEBIAN_SUITE (minbase) + node $NODE_VERSION (about a minute)"
  rm -rf "$work"; mkdir -p "$work"
  images/node-base/rootfs.sh "$work/rootfs" "$DEBIAN_SUITE" "$NODE_VERSION" "$NPM_VERSION"
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  cp -a "$work/rootfs/." "$mnt/"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env "NODE_VERSION=$NODE_VERSION" \
    --cmd node "$ctr"
  buildah commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
  save "$BASE_IMAGE" "$1"
  rm -rf "$work"
  log "built $BASE_IMAGE in $((SECONDS - start)) s"
}

# The pause image: a static program that sleeps until a signal, like the upstream one.
build_pause() { # ARCHIVE
  local work="$OUT/pause.work"
  rm -rf "$work"; mkdir -p "$work"
  CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$work/pause" images/pause/main.go
  binary_image "$PAUSE_IMAGE" "$work/pause" "$1" 65535:65535
  rm -rf "$work"
}

# An image holding one static Go binary as its entrypoint.
binary_image() { # IMAGE BINARY ARCHIVE USER
  local ctr mnt name; name=$(basename "$2")
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  install -m 0755 "$2" "$mnt/$name"
  buildah umount "$ctr" >/dev/null
  buildah config --entrypoint "[\"/$name\"]" --user "$4" "$ctr"
  buildah commit --quiet --rm "$ctr" "$1" >/dev/null
  save "$1" "$3"
}

build_coredns() { # ARCHIVE
  local work="$OUT/coredns.work" start=$SECONDS
  log "building CoreDNS $COREDNS_VERSION (a few minutes)"
  rm -rf "$work"; mkdir -p "$work"; cp images/coredns/main.go "$work/"
  (
    cd "$work"
    export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local
    go mod init clawcrew.local/coredns >/dev/null 2>&1
    go get "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null 2>&1
    go mod tidy >/dev/null 2>&1
    go build -trimpath -ldflags "-s -w" -o coredns .
  ) >"$work/build.log" 2>&1 || die "building CoreDNS failed; see $work/build.log"
  binary_image "$COREDNS_IMAGE" "$work/coredns" "$1" 65532:65532
  rm -rf "$work"
  log "built $COREDNS_IMAGE in $((SECONDS - start)) s"
}

build_dockerfile() { # IMAGE DOCKERFILE CONTEXT ARCHIVE [BUILD_ARG...]
  local image=$1 file=$2 context=$3 out=$4 start=$SECONDS; shift 4
  local args=(); local a; for a in "$@"; do args+=(--build-arg "$a"); done
  log "building $image from $file"
  # RUN steps reach the npm registry through this machine's TLS trust (which may include a local CA):
  # the host's CA bundle and an npmrc naming it are mounted for the build only, never stored in the image.
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$OUT/npmrc"
  args+=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
    --volume "$OUT/npmrc:/root/.npmrc:ro")
  buildah bud --quiet --layers=false --isolation chroot --network host --pull=never \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" "${args[@]}" -f "$file" -t "$image" "$context" >"$OUT/build.log" 2>&1 ||
    die "building $image failed; see $OUT/build.log"
  save "$image" "$out"
  log "built $image in $((SECONDS - start)) s"
}

# Loads the base into buildah's storage when only its archive is cached (a later build needs it).
ensure_base_in_storage() { # ARCHIVE
  buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 || buildah pull --quiet "docker-archive:$1" >/dev/null
}

KEY_EXTRA="$NODE_VERSION $NPM_VERSION $DEBIAN_SUITE" base_key=$(key images/node-base/rootfs.sh)
base=$(archive node-base "$BASE_IMAGE" "$base_key")
[[ -f $base ]] || build_base "$base"

KEY_EXTRA="" pause_key=$(key images/pause/main.go)
pause=$(archive pause "$PAUSE_IMAGE" "$pause_key")
[[ -f $pause ]] || build_pause "$pause"

KEY_EXTRA="$base_key" operator_key=$(key Dockerfile package.json package-lock.json tsconfig.json tsconfig.build.json \
  $(git ls-files src | sort))
operator=$(archive operator "$OPERATOR_IMAGE" "$operator_key")
if [[ ! -f $operator ]]; then
  ensure_base_in_storage "$base"
  build_dockerfile "$OPERATOR_IMAGE" Dockerfile . "$operator"
fi

KEY_EXTRA="$base_key $OPENCLAW_VERSION" openclaw_key=$(key images/openclaw/Dockerfile)
openclaw=$(archive openclaw "$OPENCLAW_IMAGE" "$openclaw_key")
if [[ ! -f $openclaw ]]; then
  ensure_base_in_storage "$base"
  build_dockerfile "$OPENCLAW_IMAGE" images/openclaw/Dockerfile images/openclaw "$openclaw" \
    "OPENCLAW_VERSION=$OPENCLAW_VERSION"
fi

KEY_EXTRA="$base_key" stub_key=$(key images/stub-llm/Dockerfile images/stub-llm/server.ts harness/stub-llm.ts)
stub=$(archive stub-llm "$STUB_LLM_IMAGE" "$stub_key")
if [[ ! -f $stub ]]; then
  ensure_base_in_storage "$base"
  build_dockerfile "$STUB_LLM_IMAGE" images/stub-llm/Dockerfile . "$stub"
fi

KEY_EXTRA="$COREDNS_VERSION" coredns_key=$(key images/coredns/main.go)
coredns=$(archive coredns "$COREDNS_IMAGE" "$coredns_key")
[[ -f $coredns ]] || build_coredns "$coredns"

printf '%s\n' "pause=$pause" "coredns=$coredns" "operator=$operator" "openclaw=$openclaw" "stub-llm=$stub"
