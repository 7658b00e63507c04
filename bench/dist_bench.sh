#!/usr/bin/env bash
# Data-parallel training speed on this machine, from the full datasets: the IMDB classifier (default
# recipe) and the transformer (its recipe), each trained for STEPS steps as 1 process x 1 thread,
# 1 process x 2 threads and 2 ranks x 1 thread (mpirun). Tokens/s come from each run's summary line;
# for the 2-rank runs also the time per step in backward and then waiting for the gradient allreduce,
# next to a blocking allreduce of the same gradient (bench/allreduce_time): the part of the allreduce
# that backward hid is 1 - wait / blocking. Run it on an otherwise idle machine.
# Validation after the steps is not in the rates (they count time in training steps only).
#   bash bench/dist_bench.sh [BUILD_DIR (build)] [STEPS (60)] [JOBS ("imdb transformer")]
set -euo pipefail
build=$(realpath "${1:-build}")
steps=${2:-60}
jobs=${3:-imdb transformer}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
two=(mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS=1 --bind-to none)

# run NAME LAUNCH... -- PROGRAM ARGS...: one training run; prints its summary's numbers.
run() {
  local name=$1
  shift
  "$@" > "$work/$name.txt" 2>&1 || { cat "$work/$name.txt"; echo "dist_bench: $name failed" >&2; exit 1; }
  local summary
  summary=$(grep "^summary:" "$work/$name.txt")
  local rate
  rate=$(sed -E 's/.*\(([0-9]+) tok\/s.*/\1/' <<< "$summary")
  printf "  %-22s %8s tok/s" "$name" "$rate"
  if grep -q "ms/step waiting" <<< "$summary"; then
    sed -E 's/.*backward ([0-9.]+) ms\/step, then ([0-9.]+) ms\/step waiting.*/   backward \1 ms\/step, then waiting \2 ms\/step/' <<< "$summary"
  else
    echo
  fi
}

# job NAME PARAMS_FROM PROGRAM ARGS...: the three configurations and the blocking allreduce.
job() {
  local name=$1 program=$2
  shift 2
  echo "$name ($steps steps):"
  run "$name-1x1" env OMP_NUM_THREADS=1 "$program" "$@" --threads 1 --out "$work/$name-1x1"
  run "$name-1x2" env OMP_NUM_THREADS=2 "$program" "$@" --threads 2 --out "$work/$name-1x2"
  run "$name-2x1" "${two[@]}" "$program" "$@" --threads 1 --out "$work/$name-2x1"
  local floats
  floats=$(grep -m1 "total:" "$work/$name-1x1.txt" | sed -E 's/.*total: ([0-9]+) parameters.*/\1/')
  printf "  %-22s " "blocking allreduce"
  "${two[@]}" "$build/bench/allreduce_time" --floats "$floats"
}

lscpu | grep -m1 "Model name" | sed 's/^/machine: /'
echo "machine: $(nproc) cores; mpirun $(mpirun --version | head -1)"
# IMDB: the reviews of STEPS batches of 64 (one epoch; the rest of the train split is not read in).
[[ $jobs == *imdb* ]] && job imdb "$build/examples/imdb" train --per-class $(((steps * 64 * 10 / 9 + 1) / 2 + 1)) --epochs 1 --no-test
# The transformer's recipe with a warmup that fits in STEPS (its own is 800 steps).
[[ $jobs == *transformer* ]] && job transformer "$build/examples/translate" train --arch transformer --max-steps "$steps" \
  --warmup $((steps / 4)) --val-limit 64
true
