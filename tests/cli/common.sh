# Sourced by the CLI tests: strict mode, a scratch folder to work in (removed at exit), and checks.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_exit CODE WORDS... -- COMMAND: COMMAND must exit CODE and its stderr must contain every WORD.
expect_exit() {
  local code=$1 words=()
  shift
  while [[ $1 != -- ]]; do words+=("$1"); shift; done
  shift
  local rc=0
  "$@" > out.txt 2> err.txt || rc=$?
  [[ $rc -eq $code ]] || { cat err.txt >&2; fail "'$*' exited $rc, expected $code"; }
  for w in "${words[@]}"; do grep -qF -- "$w" err.txt || { cat err.txt >&2; fail "'$*': stderr lacks '$w'"; }; done
}
# expect_error WORDS... -- COMMAND: the work failed (bad data, a missing file): exit 1, naming the problem.
expect_error() { expect_exit 1 "$@"; }
# expect_usage_error WORDS... -- COMMAND: the command line is wrong: exit 2, naming the option.
expect_usage_error() { expect_exit 2 "$@"; }
