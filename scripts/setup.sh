#!/usr/bin/env bash
# setup.sh - installs what deepc needs to build and test on Debian 12, without
# questions, and does nothing for packages already present. Needs root (or sudo).
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libcjson-dev libpcre2-dev libedit-dev libmicrohttpd-dev
      python3 tmux curl chromium)
# node and npm: Debian's unless the machine already has them (a newer build may be preinstalled)
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
