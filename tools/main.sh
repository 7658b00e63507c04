#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and trains the IMDB attention
# classifier on the data it finds (--data DIR, else $ATTOGRAD_DATA, ~/.local/share/attograd, then
# ../shared/data beside the source tree). Extra arguments go to `imdb train` (e.g. --recipe article, --epochs 5,
# --out runs/mine).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
exec ./build/examples/imdb train "$@"
