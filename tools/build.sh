#!/usr/bin/env bash
# Installs what is missing and builds attograd:
#   bash tools/build.sh                     the default compiler (g++), Release, into build/
#   bash tools/build.sh --compiler clang    clang, Release, into build-clang/
#   bash tools/build.sh --sanitize          clang with ASan + UBSan + LSan and the fuzz targets,
#                                           RelWithDebInfo (-O2 -g), into build-sanitize/
# ATTOGRAD_MPI=ON|OFF|AUTO in the environment configures the folder with it (tools/test.sh: ON).
# tools/test.sh and tools/fuzz.sh build through this script, so a folder is always configured the
# same way (CMakeLists.txt states the contract).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: build.sh [--compiler clang | --sanitize]" >&2; exit 2; }
mode=() dir=build options=(-DCMAKE_BUILD_TYPE=Release)
case "${1:-}" in
  "") ;;
  --compiler)
    [ "${2:-}" = clang ] || usage
    mode=(--compiler clang) dir=build-clang
    export CC=clang CXX=clang++ ;;  # read when the folder is first configured
  --sanitize)
    mode=(--sanitize) dir=build-sanitize
    options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTOGRAD_SANITIZE=ON -DATTOGRAD_BUILD_FUZZERS=ON)
    export CC=clang CXX=clang++
    source tools/sanitizer_env.sh ;;  # the build runs the test binaries to list their tests
  *) usage ;;
esac
[ -n "${ATTOGRAD_MPI:-}" ] && options+=(-DATTOGRAD_MPI="$ATTOGRAD_MPI")
bash tools/deps.sh "${mode[@]}"
cmake -S . -B "$dir" "${options[@]}" | { grep "^-- attograd:" || true; }  # the ISA flags chosen
cmake --build "$dir" -j"$(nproc)"
