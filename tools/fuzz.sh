#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ (one per reader of outside bytes):
#   bash tools/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target (default 60); by default every
#                                                target but checkpoint_repaired (see below), as
#                                                many at once as there are cores
# Each target starts from a copy of its committed seeds (tests/fuzz/corpus/<target>/) and regression
# inputs (tests/fuzz/regressions/<target>/), so a run never changes the committed corpus; the inputs it
# finds interesting are kept in the run's folder, printed at the end. The build is build-sanitize,
# configured as tools/build.sh --sanitize does (clang, ASan + UBSan + LSan, the fuzz targets), of
# which only the fuzz targets are built here; ATTOGRAD_FUZZ_BUILD=DIR uses another folder.
# Exit status: 0 when no target found anything; 1 when one crashed, leaked, timed out or ran out of
# memory (each such input is printed, with how to replay it and keep it as a regression test); 2 for
# a wrong command line.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: tools/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }

seconds=60
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
[[ $seconds -gt 0 ]] || usage
for arg in "$@"; do [[ $arg =~ ^[a-z0-9_]+$ ]] || usage; done
dir=${ATTOGRAD_FUZZ_BUILD:-build-sanitize}

bash tools/deps.sh --sanitize
export CC=clang CXX=clang++  # read when the folder is first configured
source tools/sanitizer_env.sh
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTOGRAD_SANITIZE=ON -DATTOGRAD_BUILD_FUZZERS=ON >/dev/null

# "name max_len binary" per target, written by tests/fuzz/CMakeLists.txt.
declare -A max_len binary
names=()
while read -r name len bin; do
  [[ -n $name ]] || continue
  names+=("$name") max_len[$name]=$len binary[$name]=$bin
done < "$dir/fuzz_targets.txt"
# checkpoint_repaired feeds libhdf5 damaged HDF5 behind a valid seal and finds crashes inside libhdf5
# 1.10.8 itself within seconds (tests/fuzz/libhdf5_crashes/README.md): it runs only when named.
not_by_default=(checkpoint_repaired)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for n in "${names[@]}"; do [[ " ${not_by_default[*]} " == *" $n "* ]] || targets+=("$n"); done
  echo "fuzz.sh: not run unless named: ${not_by_default[*]} (see tests/fuzz/libhdf5_crashes/README.md)"
fi
for t in "${targets[@]}"; do
  [[ -n ${binary[$t]:-} ]] || { echo "fuzz.sh: no target '$t'; the targets are: ${names[*]}" >&2; exit 2; }
done
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

# The targets write each input to files under $TMPDIR and remove them again: on a disk mounted with
# `discard` every removal waits for the disk (10x slower here), so a RAM folder is used when there is one.
# libFuzzer ends a run with _Exit, so a target's own clean-up at exit never runs: each run gets a
# temporary folder of its own, removed here.
base=${TMPDIR:-/tmp}
if [[ -z ${TMPDIR:-} && -d /dev/shm && -w /dev/shm ]]; then base=/dev/shm; fi
TMPDIR=$(mktemp -d "$base/attograd-fuzz-run.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

runs=$(realpath "$dir")/fuzz-runs/$(date +%Y%m%d-%H%M%S)
# One libFuzzer process per core at a time (each is single-threaded); ATTOGRAD_FUZZ_JOBS=N changes it.
jobs=${ATTOGRAD_FUZZ_JOBS:-$(nproc)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: ATTOGRAD_FUZZ_JOBS must be a positive integer" >&2; exit 2; }
declare -A seeds
for t in "${targets[@]}"; do
  work=$runs/$t
  mkdir -p "$work/corpus" "$work/crashes"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
  if compgen -G "tests/fuzz/regressions/$t/*" > /dev/null; then cp tests/fuzz/regressions/"$t"/* "$work/corpus/"; fi
  seeds[$t]=$(ls "$work/corpus" | wc -l)
  options=(-max_total_time="$seconds" -max_len="${max_len[$t]}" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=20
           -print_final_stats=1 -artifact_prefix="$work/crashes/")
  [[ -f tests/fuzz/$t.dict ]] && options+=(-dict="tests/fuzz/$t.dict")
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
  echo "== fuzz $t: ${seconds}s from ${seeds[$t]} seeds (log: $work/log.txt)"
  { status=0; "${binary[$t]}" "${options[@]}" "$work/corpus" > "$work/log.txt" 2>&1 || status=$?; echo $status > "$work/status"; } &
done
wait

failed=() summary=()
for t in "${targets[@]}"; do
  work=$runs/$t
  status=$(cat "$work/status")
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log.txt" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -oE '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$work/log.txt" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || echo "cov: ?")
  found=$(find "$work/crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  line="$t: $execs runs, $cov, $(( $(ls "$work/corpus" | wc -l) - seeds[$t] )) new inputs in $work/corpus"
  if [[ $status -ne 0 || -n $found ]]; then
    failed+=("$t")
    line+=" -- FOUND A PROBLEM (exit $status)"
    echo "-- $t failed; the end of its log:"
    tail -40 "$work/log.txt"
    for f in $found; do
      echo "input: $f"
      echo "  replay it:             ${binary[$t]} $f"
      echo "  keep it as a test:     cp $f tests/fuzz/regressions/$t/<what-it-does>  (then fix the reader; the"
      echo "                         ctest test fuzz_replay_$t replays it in every build from then on)"
    done
  fi
  summary+=("$line")
done

echo
echo "== fuzz summary (${seconds}s per target; runs in $runs)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: ${failed[*]} found problems" >&2
  exit 1
fi
echo "fuzz.sh: no crash, leak, timeout or excess memory found"
