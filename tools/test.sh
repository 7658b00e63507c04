#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the whole suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
