#!/usr/bin/env bash
# Installs attograd from a built tree into a temporary prefix and uses it as an outside project
# would (the ctest test "install", tests/CMakeLists.txt):
#   1. the installed files: headers, library, CMake package, attograd.pc;
#   2. no path of the source or build tree in the installed library (its code and data; debug
#      information, which names the sources by design, is stripped from the copy looked at);
#   3. tests/install/ configured with find_package(attograd 0.2) alone, built and run (its own layer
#      and op, trained, checkpointed, resumed exactly), with no flag of the machine in its compile
#      commands;
#   4. the same main.cpp built with `pkg-config --cflags --libs attograd` and run;
#   5. every installed header alone (`#include <attograd/...>`) finds all it includes with only the
#      installed include folder (and fmt's) on the path, and all of them compile.
#   bash tests/install/run.sh BUILD_DIR [FLAG...]
# BUILD_DIR is a configured and built attograd tree; the FLAGs (the suite's sanitizer flags, which
# its library was built with) go to every compile and link of the outside program. Exits 0 when
# every check passes, 1 when one fails, 2 for a wrong command line. Removes its temporary folder.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
  echo "usage: run.sh BUILD_DIR [FLAG...] (BUILD_DIR: a configured and built attograd tree)" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
shift
flags=("$@")
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
cxx=$(cache_value CMAKE_CXX_COMPILER)
cc=$(cache_value CMAKE_C_COMPILER)  # the package's find_dependency(HDF5) enables C: the same compiler as the build's
launcher=$(cache_value CMAKE_CXX_COMPILER_LAUNCHER)
jobs=$(nproc)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attograd-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
failed=0
fail() { echo "FAILED: $*" >&2; failed=1; }
isa_flags='-march=|-mtune=|-mavx|-mno-avx|-msse|-mfma|-mmove-max|-mstore-max'

echo "== install $build into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null

echo "== 1. the installed files"
for f in include/attograd/core/core.h include/attograd/nn/nn.h include/attograd/optim/optim.h \
         lib/cmake/attograd/attograd-config.cmake lib/cmake/attograd/attograd-config-version.cmake \
         lib/cmake/attograd/attograd-targets.cmake lib/pkgconfig/attograd.pc; do
  [ -f "$prefix/$f" ] || fail "$prefix/$f was not installed"
done
libraries=("$prefix"/lib/libattograd.*)
[ -e "${libraries[0]}" ] || fail "no libattograd.* in $prefix/lib"
shared=0
[ -e "$prefix/lib/libattograd.so" ] && shared=1
source_headers=$(cd "$source_dir" && find attograd -name '*.h' | sort)
installed_headers=$(cd "$prefix/include" && find attograd -name '*.h' | sort)
[ "$source_headers" = "$installed_headers" ] || fail "the installed headers differ from attograd/**/*.h:
$(diff <(echo "$source_headers") <(echo "$installed_headers") || true)"

echo "== 2. no path of this tree in the installed library"
if [ ${#flags[@]} -gt 0 ]; then
  echo "skipped: built with ${flags[*]}, whose instrumentation names the source files"
else
  for lib in "${libraries[@]}"; do
    [ -L "$lib" ] && continue
    objcopy --strip-debug "$lib" "$tmp/stripped"
    for path in $(printf '%s\n' "$source_dir" "$(realpath "$source_dir")" "$build" "$(realpath "$build")" | sort -u); do
      if strings "$tmp/stripped" | grep -qF "$path"; then
        fail "$lib holds the path $path: $(strings "$tmp/stripped" | grep -F "$path" | head -3)"
      fi
    done
  done
fi

# Runs the outside program with no data folder set, a home of its own, and the shared library's folder.
run_user() {
  mkdir -p "$tmp/home" "$tmp/run-$2"
  env -u ATTOGRAD_DATA -u XDG_DATA_HOME HOME="$tmp/home" LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$1" "$tmp/run-$2" || fail "$1 (built with $2) failed"
}

echo "== 3. the outside project with find_package(attograd 0.2)"
joined_flags="${flags[*]:-}"
cmake -S "$here" -B "$tmp/build-cmake" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_CXX_COMPILER="$cxx" ${cc:+-DCMAKE_C_COMPILER="$cc"} ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} \
      -DCMAKE_CXX_FLAGS="$joined_flags" -DCMAKE_EXE_LINKER_FLAGS="$joined_flags" \
      -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log" >&2; fail "configure"; }
if cmake --build "$tmp/build-cmake" -j"$jobs" >"$tmp/build.log" 2>&1; then
  if grep -E -- "$isa_flags" "$tmp/build-cmake/compile_commands.json"; then
    fail "the outside project compiles with an ISA flag it did not ask for (above)"
  fi
  run_user "$tmp/build-cmake/install_user" find_package
else
  cat "$tmp/build.log" >&2
  fail "building the outside project with find_package"
fi

echo "== 4. the same program with pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pc_flags="$(pkg-config --cflags attograd) $(pkg-config --libs attograd)"
if grep -E -- "$isa_flags" <<<"$pc_flags"; then
  fail "attograd.pc carries an ISA flag (above)"
fi
# shellcheck disable=SC2086  # pkg-config's output is a list of flags
if $launcher "$cxx" -O2 "${flags[@]}" "$here/main.cpp" $pc_flags -o "$tmp/install_user_pc"; then
  run_user "$tmp/install_user_pc" pkg-config
else
  fail "building the outside project with pkg-config: $pc_flags"
fi

echo "== 5. the installed headers, with only the installed include folder (and fmt's and nlohmann_json's) on the path"
# Each header alone through the preprocessor (an include of a header that was not installed, or of
# a dependency the package does not provide, fails it), then all of them compiled in one unit (one
# compile instead of ~70 keeps the test fast; each already resolved its includes alone).
include_flags="-std=c++20 -fopenmp -I$prefix/include $(pkg-config --cflags-only-I fmt nlohmann_json)"
# shellcheck disable=SC2016  # $0, $1 and $2 belong to the inner shell
echo "$installed_headers" | xargs -P "$jobs" -I{} sh -c \
  'echo "#include <$0>" | $1 $2 -E -x c++ - >/dev/null 2>&1 || echo "$0"' {} "$cxx" "$include_flags" \
  >"$tmp/bad_headers"
if [ -s "$tmp/bad_headers" ]; then
  first=$(head -1 "$tmp/bad_headers")
  # shellcheck disable=SC2086  # a list of flags
  echo "#include <$first>" | $cxx $include_flags -E -x c++ - 2>&1 >/dev/null | head -20 >&2 || true
  fail "these installed headers include what was not installed: $(tr '\n' ' ' <"$tmp/bad_headers")"
fi
while read -r header; do echo "#include <$header>"; done <<<"$installed_headers" >"$tmp/all_headers.cpp"
# shellcheck disable=SC2086  # a list of flags
$cxx $include_flags -fsyntax-only "$tmp/all_headers.cpp" || fail "the installed headers do not compile together"

[ $failed = 0 ] && echo "install: every check passed$([ $shared = 1 ] && echo " (shared library)")"
exit $failed
