#!/usr/bin/env bash
# Installs the Debian packages attograd builds and tests with, if any is missing (needs root, or sudo).
# `--compiler clang` and `--sanitize` also install clang, its OpenMP (libomp-dev) and its sanitizer
# run-times (libclang-rt-14-dev). ATTOGRAD_MPI=ON in the environment (tools/test.sh sets it) also
# installs Open MPI, for attograd/dist and its tests; the main command does not need it.
set -euo pipefail
packages=(cmake g++ make pkg-config libeigen3-dev libhdf5-dev libfmt-dev libgtest-dev libcli11-dev zlib1g-dev
          nlohmann-json3-dev python3-h5py)
case "${1:-}" in
  "") ;;
  --compiler | --sanitize) packages+=(clang libomp-dev libclang-rt-14-dev) ;;
  *) echo "usage: deps.sh [--compiler clang | --sanitize]" >&2; exit 2 ;;
esac
[ "${ATTOGRAD_MPI:-}" = ON ] && packages+=(libopenmpi-dev openmpi-bin)
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
