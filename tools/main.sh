#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs the main job.
# Until the IMDB example lands, the main job is the autograd tour (a small MLP trained with core/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
./build/examples/autograd_tour "$@"
