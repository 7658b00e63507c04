#!/usr/bin/env bash
# Checks, on any x86-64 machine, the flags the build chooses for g++ on an AVX-512 CPU (CMakeLists.txt:
# GCC 12 miscompiles with AVX-512, or with Intel's AVX-512 tuning, and IndexSelect.RepeatedIndexAccumulates
# shows it). For each pretended CPU it configures a scratch folder with -DATTOGRAD_NATIVE_ARCH=CPU,
# compiles tests/core/test_index.cpp alone, and fails unless
#   - the chosen flags define no __AVX512*__ macro, and
#   - that test's TestBody has no AVX-512 instruction (EVEX prefix 0x62, zmm or mask registers) and no
#     vector broadcast (the miscompile builds the index {2, 2, 2, 0} as a broadcast of 2).
#   bash tools/check_isa.sh [cmake args...]    e.g. -DATTOGRAD_AVX512=ON, which must fail
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
function=IndexSelect_RepeatedIndexAccumulates_Test::TestBody
failed=0
for cpu in x86-64-v4 sapphirerapids; do
  dir=build-isa-$cpu
  rm -rf "$dir" && mkdir -p "$dir"  # configured anew each time: nothing cached from another run
  CC=gcc CXX=g++ cmake -S . -B "$dir" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release \
    -DATTOGRAD_NATIVE_ARCH="$cpu" -DATTOGRAD_BUILD_EXAMPLES=OFF "$@" >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log"; exit 1; }
  read -r -a flags <"$dir/attograd_isa_flags.txt"
  echo "check_isa: g++ $(g++ -dumpfullversion) as if on $cpu: ${flags[*]}"
  problems=()
  [[ " ${flags[*]} " == *" -march=$cpu "* ]] || problems+=("the flags do not pretend to be on $cpu")
  macros=$(g++ "${flags[@]}" -dM -E -x c++ /dev/null | grep -o '__AVX512[A-Z0-9_]*__' | sort -u | tr '\n' ' ' || true)
  [ -z "$macros" ] || problems+=("the flags define $macros")
  make -C "$dir/tests" core/test_index.cpp.o >/dev/null
  objdump -d -C "$dir/tests/CMakeFiles/core_tests.dir/core/test_index.cpp.o" >"$dir/test_index.dis"
  body=$(awk -v f="$function()>:" 'index($0, f) { on = 1 } on && /^$/ { exit } on' "$dir/test_index.dis")
  if [ -z "$body" ]; then
    problems+=("no $function in the object")
  else
    # objdump's lines: "address:<TAB>bytes<TAB>instruction"; an EVEX instruction's first byte is 62.
    evex=$(awk -F'\t' 'NF >= 3 && ($2 ~ /^62 / || $3 ~ /%zmm|%[xy]mm(1[6-9]|2[0-9]|3[01])([^0-9]|$)|%k[0-7]([^0-9]|$)|\{1to/)' <<<"$body")
    [ -z "$evex" ] || problems+=("AVX-512 instructions in $function:"$'\n'"$evex")
    broadcast=$(grep -E 'vpbroadcast|vbroadcast' <<<"$body" || true)
    [ -z "$broadcast" ] || problems+=("a vector broadcast in $function:"$'\n'"$broadcast")
  fi
  for p in "${problems[@]}"; do echo "check_isa: FAILED ($cpu): $p" >&2; failed=1; done
  [ ${#problems[@]} -gt 0 ] || echo "check_isa: ok ($cpu): no AVX-512 macro, $function has no AVX-512 instruction and no broadcast"
done
exit $failed
