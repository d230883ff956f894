#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH. When the running Node is older than the
# project's minimum, Node 24 is fetched once from the npm registry (package node@24) into
# the cache outside the repo.
#
#   hack/node24.sh npm ci
#   hack/node24.sh node --version
set -euo pipefail
NODE_VERSION="${CLAWCREW_NODE_VERSION:-24.21.0}"
MIN_MAJOR=24 MIN_MINOR=16
CACHE="${CLAWCREW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawcrew}"

usable() { # true when `node` on PATH is >= 24.16 and < 25 (OpenClaw's and the project's range)
  local v; v=$(node --version 2>/dev/null) || return 1
  v=${v#v}; local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
  [[ $major -eq $MIN_MAJOR && $minor -ge $MIN_MINOR ]]
}

if ! usable; then
  dir="$CACHE/node-$NODE_VERSION"
  if [[ ! -x "$dir/node_modules/node/bin/node" ]]; then
    echo "[node24] fetching node@$NODE_VERSION from the npm registry into $dir" >&2
    mkdir -p "$dir"
    npm install --no-save --no-package-lock --prefix "$dir" "node@$NODE_VERSION" >&2
  fi
  export PATH="$dir/node_modules/node/bin:$PATH"
  usable || { echo "[node24] node@$NODE_VERSION did not provide a usable node" >&2; exit 1; }
fi
exec "$@"
