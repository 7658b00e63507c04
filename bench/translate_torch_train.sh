#!/bin/bash
# The BLEU of PyTorch trained on attograd's exact recipe, scored like an attograd run:
#   1. `translate train --export-batches` writes the initial model, the recipe and every batch of
#      every epoch (the same options as the attograd run you compare with, seed included);
#   2. bench/torch/translate.py train trains the PyTorch model on that stream, writing epoch<N>.h5;
#   3. `translate eval` scores every epoch on val, the best becomes best.h5, and test_2016_flickr is
#      scored once with it, greedy and beam 5.
#
#   bench/translate_torch_train.sh --build build RUN_DIR [translate train options...]
#   e.g. bench/translate_torch_train.sh --build build runs/torch-de-en --src de --trg en
#
# RUN_DIR gets batches.h5, epoch<N>.h5, last.h5, best.h5, metrics.csv (epoch, val BLEU) and the test
# hypotheses. Takes as long as PyTorch takes to train (hours on a CPU); --threads sets PyTorch's and
# decoding's threads (default 1).
set -euo pipefail

build=build
threads=1
if [[ "${1:-}" == "--build" ]]; then build=$2; shift 2; fi
if [[ "${1:-}" == "--threads" ]]; then threads=$2; shift 2; fi
[[ $# -ge 1 ]] || { sed -n '2,14p' "$0"; exit 2; }
run=$1; shift
translate=$build/examples/translate
[[ -x $translate ]] || { echo "no $translate: build first (cmake --build $build --target translate)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$run"

echo "== export: $translate train $* --export-batches $run/batches.h5"
"$translate" train "$@" --out "$run/export" --export-batches "$run/batches.h5" --export-steps -1

echo "== train PyTorch on the exported stream ($threads thread(s))"
OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 "$here/torch/translate.py" train \
  --batches "$run/batches.h5" --out "$run/last.h5" --threads "$threads"

echo "== choose the epoch on val"
echo "epoch,val_bleu" > "$run/metrics.csv"
best_epoch=0 best_bleu=-1
for ((e = 1; ; ++e)); do
  [[ -f $run/epoch$e.h5 ]] || break
  bleu=$("$translate" eval --checkpoint "$run/epoch$e.h5" --split val --threads "$threads" |
         sed -n 's/.*BLEU = \([0-9.]*\).*/\1/p' | head -1)
  echo "epoch $e: val BLEU $bleu"
  echo "$e,$bleu" >> "$run/metrics.csv"
  if awk -v a="$bleu" -v b="$best_bleu" 'BEGIN { exit !(a > b) }'; then best_epoch=$e best_bleu=$bleu; fi
done
[[ $best_epoch -gt 0 ]] || { echo "no epoch<N>.h5 in $run" >&2; exit 1; }
cp "$run/epoch$best_epoch.h5" "$run/best.h5"

echo "== test_2016_flickr, once, with epoch $best_epoch (val BLEU $best_bleu)"
for beam in 1 5; do
  "$translate" eval --checkpoint "$run/best.h5" --split test_2016_flickr --beam $beam --threads "$threads" \
    --output "$run/test_beam$beam.txt"
done
