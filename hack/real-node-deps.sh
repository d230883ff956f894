#!/usr/bin/env bash
# Installs the Debian packages the real node and the image builds need, when any is missing:
# containerd, runc, the CNI plugins (bridge, host-local, portmap, loopback), iptables, conntrack,
# ipset (kube-router), debootstrap and buildah (daemonless image builds). Needs root and apt.
set -euo pipefail
PACKAGES=(containerd runc containernetworking-plugins iptables conntrack ipset debootstrap buildah)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
[[ $(id -u) -eq 0 ]] || { echo "[real-node-deps] missing ${missing[*]}; run this script as root" >&2; exit 1; }
echo "[real-node-deps] installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
