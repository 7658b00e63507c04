#!/usr/bin/env bash
# Installs the Debian packages attograd builds with, if any is missing (needs root, or sudo).
set -euo pipefail
packages=(cmake g++ make pkg-config libeigen3-dev libhdf5-dev libfmt-dev libgtest-dev libcli11-dev zlib1g-dev nlohmann-json3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "attograd: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
