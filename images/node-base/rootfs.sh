#!/usr/bin/env bash
# The root filesystem of the Node 24 base image (hack/images.sh), a stand-in for node:24-slim made of
# Debian packages: debootstrap's minbase with ca-certificates and tini, Node from the npm registry
# (the node@24 package carries the official binary), npm, and node:24-slim's user node (1000:1000).
#
#   images/node-base/rootfs.sh DIR SUITE NODE_VERSION NPM_VERSION       (as root)
set -euo pipefail
dir=$1 suite=$2 node_version=$3 npm_version=$4

# The Debian mirror this machine's apt already uses (none is hard-coded here).
mirror=${CLAWCREW_DEBIAN_MIRROR:-$(grep -rhoE '[a-z]+://[^ ]+/debian/?$' /etc/apt/sources.list /etc/apt/sources.list.d/ \
  2>/dev/null | head -n1 || true)}
[[ -n $mirror ]] || { echo "no Debian mirror in /etc/apt/sources.list*; set CLAWCREW_DEBIAN_MIRROR" >&2; exit 1; }

log="$(dirname "$dir")/debootstrap.log"
debootstrap --variant=minbase --include=ca-certificates,tini "$suite" "$dir" "$mirror" >"$log" 2>&1 ||
  { echo "debootstrap failed; see $log" >&2; exit 1; }

npm_quiet=(--no-audit --no-fund --loglevel=error)
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
npm install --no-save --no-package-lock "${npm_quiet[@]}" --prefix "$staging" "node@$node_version" >&2
install -m 0755 "$staging/node_modules/node/bin/node" "$dir/usr/local/bin/node"
npm install --global "${npm_quiet[@]}" --prefix "$dir/usr/local" "npm@$npm_version" >&2

chroot "$dir" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
rm -rf "$dir/var/cache/apt/"* "$dir/var/lib/apt/lists/"* "$dir/var/log/"*
