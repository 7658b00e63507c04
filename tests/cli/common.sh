# Sourced by the CLI tests: strict mode, a scratch folder to work in (removed at exit), and checks.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error WORDS... -- COMMAND: COMMAND must exit 1 and its stderr must contain every WORD.
expect_error() {
  local words=()
  while [[ $1 != -- ]]; do words+=("$1"); shift; done
  shift
  local rc=0
  "$@" > out.txt 2> err.txt || rc=$?
  [[ $rc -eq 1 ]] || { cat err.txt >&2; fail "'$*' exited $rc, expected 1"; }
  for w in "${words[@]}"; do grep -qF -- "$w" err.txt || { cat err.txt >&2; fail "'$*': stderr lacks '$w'"; }; done
}
