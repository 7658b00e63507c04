#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the whole suite with ctest.
#   bash tools/test.sh [--compiler clang | --sanitize] [ctest args...]
# Default: g++ in build/. --compiler clang: build-clang/. --sanitize: clang with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer in build-sanitize/, where any finding fails its test.
set -euo pipefail
cd "$(dirname "$0")/.."
# With MPI (installed when missing), so the multi-process tests of attograd/dist always run: a
# build without it would drop them silently. ATTOGRAD_MPI=OFF in the environment builds without.
export ATTOGRAD_MPI=${ATTOGRAD_MPI:-ON}
mode=() dir=build
case "${1:-}" in
  --compiler)
    [ "${2:-}" = clang ] || { echo "usage: test.sh [--compiler clang | --sanitize] [ctest args...]" >&2; exit 2; }
    mode=(--compiler clang) dir=build-clang; shift 2 ;;
  --sanitize)
    mode=(--sanitize) dir=build-sanitize; shift
    source tools/sanitizer_env.sh ;;
esac
bash tools/build.sh "${mode[@]}"
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" "$@"
