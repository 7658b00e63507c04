#!/usr/bin/env bash
# End-to-end test of the `imdb` program, the commands the README gives, on a tiny aclImdb tree this
# script writes (positive reviews use "good great fine lovely", negative "bad awful poor dull"). It
# checks the wiring of every subcommand (train, resume, eval, predict) and that bad input ends in a
# clear error, not a crash. Learning itself is tested in tests/examples.
#
#   tests/cli/imdb_cli.sh PATH/TO/imdb
[[ $# -eq 1 ]] || { echo "usage: tests/cli/imdb_cli.sh PATH/TO/imdb" >&2; exit 2; }
imdb=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
source "$here/imdb_data.sh"

write_tree data 40

tiny=(--vocab 30 --maxlen 16 --batch 8 --threads 1)
echo "== train, resume"
"$imdb" train --data data "${tiny[@]}" --epochs 2 --out run > train.txt 2>&1 || { cat train.txt; fail "train exited non-zero"; }
for f in best.h5 last.h5 metrics.csv; do [[ -f run/$f ]] || fail "no run/$f"; done
grep -q '^test: accuracy' train.txt || { cat train.txt; fail "train did not score the test split at the end"; }
[[ $(wc -l < run/metrics.csv) -eq 3 ]] || fail "metrics.csv should have a header and 2 epochs"
"$imdb" train --resume run --epochs 3 > resume.txt 2>&1 || { cat resume.txt; fail "resume exited non-zero"; }
[[ $(wc -l < run/metrics.csv) -eq 4 ]] || fail "resume did not add epoch 3 to metrics.csv"
grep -q '^imdb: 72 training and 8 validation reviews' resume.txt || { cat resume.txt; fail "resume read other reviews"; }
# The default recipe masks; --no-mask and --recipe article do not.
grep -q '^imdb: .*, masked$' train.txt || { cat train.txt; fail "the default recipe should mask"; }
for flag in --no-mask "--recipe article"; do
  # shellcheck disable=SC2086
  "$imdb" train --data data "${tiny[@]}" --epochs 1 $flag --no-test --out "run-plain${flag// /}" > plain.txt 2>&1 ||
    { cat plain.txt; fail "train $flag exited non-zero"; }
  grep -q '^imdb: .*, masked$' plain.txt && { cat plain.txt; fail "train $flag should not mask"; }
done

echo "== eval"
"$imdb" eval --checkpoint run/best.h5 --data data --predictions pred.h5 > eval.txt 2>&1 || { cat eval.txt; fail "eval"; }
grep -q 'test split: 80 reviews' eval.txt && grep -q 'accuracy' eval.txt && grep -q 'confusion matrix' eval.txt ||
  { cat eval.txt; fail "eval printed no accuracy or confusion matrix on 80 reviews"; }
[[ -f pred.h5 ]] || fail "eval --predictions wrote nothing"
# without --data, eval reads the test split of the reviews the run trained on
(cd / && "$imdb" eval --checkpoint "$work/run/best.h5") > eval_run_data.txt 2>&1 ||
  { cat eval_run_data.txt; fail "eval without --data"; }
grep -q 'test split: 80 reviews' eval_run_data.txt || { cat eval_run_data.txt; fail "eval without --data"; }

echo "== profile"
# --profile: the table at the end and a Chrome trace holding the ops and the trainer's phases.
"$imdb" train --data data "${tiny[@]}" --epochs 1 --no-test --out run-prof --profile prof.json > prof.txt 2>&1 ||
  { cat prof.txt; fail "train --profile exited non-zero"; }
for row in lstm_bidirectional_layer 'lstm_bidirectional_layer backward' Adam.step sgemm forward backward 'wall time'; do
  grep -q "^$row" prof.txt || { cat prof.txt; fail "train --profile: no '$row' in the table"; }
done
/usr/bin/python3 - prof.json <<'PY' || fail "train --profile: the trace is not the Chrome trace it should be"
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
names = {e["name"] for e in events if e["ph"] == "X"}
assert {"lstm_bidirectional_layer", "sgemm", "forward", "backward", "optimizer"} <= names, names
PY
"$imdb" eval --checkpoint run/best.h5 --data data --profile eval_prof.json --profile-shapes > eval_prof.txt 2>&1 ||
  { cat eval_prof.txt; fail "eval --profile exited non-zero"; }
grep -q '^linear .*\[(80, 128), (1, 128), (1)\]' eval_prof.txt || { cat eval_prof.txt; fail "eval --profile-shapes"; }
# ATTOGRAD_PROFILE profiles any program: the table on stderr, the trace in the file.
ATTOGRAD_PROFILE=env.json "$imdb" predict --checkpoint run/best.h5 "good" > /dev/null 2> env.txt || fail "ATTOGRAD_PROFILE"
grep -q '^lstm_bidirectional_layer ' env.txt && [[ -s env.json ]] || { cat env.txt; fail "ATTOGRAD_PROFILE wrote no table or trace"; }
expect_usage_error --profile-shapes --profile -- "$imdb" eval --checkpoint run/best.h5 --profile-shapes
expect_error "$work/none/p.json" -- "$imdb" eval --checkpoint run/best.h5 --data data --profile "$work/none/p.json"

echo "== predict"
"$imdb" predict --checkpoint run/best.h5 --explain page.html "A lovely, great film!" "Awful. Just bad." > pred.txt 2>&1 ||
  { cat pred.txt; fail "predict exited non-zero"; }
[[ $(grep -cE '^[01]\.[0-9]{4}  (positive|negative)  ' pred.txt) -eq 2 ]] || { cat pred.txt; fail "predict: 2 lines"; }
grep -q '<html' page.html && grep -q 'lovely' page.html && grep -q 'awful' page.html || fail "page.html lacks the words"
[[ $(printf 'good movie\n\nbad movie\n' | "$imdb" predict --checkpoint run/best.h5 | grep -cE '  (positive|negative)  ') -eq 2 ]] ||
  fail "predict from stdin should print a line per non-empty input line"
# The preview of a long text is cut between characters: the output stays valid UTF-8.
for pad in "" x xx; do
  "$imdb" predict --checkpoint run/best.h5 "good $pad$(printf 'é%.0s' {1..60})" > utf8.txt || fail "predict of a long text"
  iconv -f UTF-8 -t UTF-8 utf8.txt > /dev/null || { cat utf8.txt; fail "predict cut a character in two"; }
done

echo "== bad input"
write_tree other 30
expect_error --resume "80 reviews" "$work/data" "$work/other" "has 60" -- "$imdb" train --resume run --data other --epochs 4
expect_error run/last.h5 --resume --overwrite -- "$imdb" train --data data "${tiny[@]}" --out run
"$imdb" train --data data "${tiny[@]}" --epochs 1 --out run --overwrite > overwrite.txt 2>&1 ||
  { cat overwrite.txt; fail "train --overwrite exited non-zero"; }
[[ $(wc -l < run/metrics.csv) -eq 2 ]] || fail "--overwrite should start metrics.csv afresh"
# Without --out, a second run goes to runs/imdb-2 rather than over the first.
for n in 1 2; do "$imdb" train --data data "${tiny[@]}" --epochs 1 > default_out$n.txt 2>&1 || fail "train without --out"; done
[[ -f runs/imdb/best.h5 && -f runs/imdb-2/best.h5 ]] || fail "the second run without --out should go to runs/imdb-2"
grep -q '^runs/imdb holds a run; this one goes to runs/imdb-2' default_out2.txt || fail "the second run should say where it goes"
expect_error "$work/none" "the only folder looked in" -- "$imdb" train --data "$work/none" --out run-none
expect_error nothing.h5 -- "$imdb" eval --checkpoint nothing.h5 --data data
echo "not hdf5" > bad.h5
expect_error bad.h5 -- "$imdb" predict --checkpoint bad.h5 "good"
expect_usage_error --optimizer sgd -- "$imdb" train --data data "${tiny[@]}" --optimizer sgd --out run-sgd
# A wrong command line is a usage error (exit 2) that names the option; --help is no error at all.
expect_usage_error --checkpoint required -- "$imdb" eval --data data
expect_usage_error --threads 0 -- "$imdb" eval --checkpoint run/best.h5 --threads 0
# Values out of range are refused before anything runs, naming the option, and leave no run behind.
expect_usage_error --threads 1000000 1024 -- "$imdb" train --data data --threads 1000000 --out run-bad
expect_usage_error --batch 0 -- "$imdb" train --data data --batch 0 --out run-bad
expect_usage_error --batch 99999999999999999999 -- "$imdb" train --data data --batch 99999999999999999999 --out run-bad
expect_usage_error --lr nan -- "$imdb" train --data data --lr nan --out run-bad
expect_usage_error --lr inf -- "$imdb" train --data data --lr inf --out run-bad
expect_usage_error --maxlen 0 -- "$imdb" train --data data --maxlen 0 --out run-bad
expect_usage_error --seed -1 -- "$imdb" train --data data --seed -1 --out run-bad
expect_usage_error --dropout 1 -- "$imdb" train --data data --dropout 1 --out run-bad
expect_usage_error --recipe keras -- "$imdb" train --data data --recipe keras --out run-bad
[[ ! -e run-bad ]] || fail "a refused command line must leave no run folder"
# A resumed run keeps its recipe: a recipe option with --resume is refused; without --epochs the
# run's own number of epochs stands.
expect_usage_error --lr --resume -- "$imdb" train --resume run --lr 0.1
expect_usage_error --recipe --resume -- "$imdb" train --resume run --recipe article  # a run keeps its own
"$imdb" train --data data "${tiny[@]}" --epochs 1 --out run-one > one.txt 2>&1 || { cat one.txt; fail "train --epochs 1"; }
"$imdb" train --resume run-one > one-resumed.txt 2>&1 || { cat one-resumed.txt; fail "resume of a finished run"; }
grep -q "with the run's recipe .* to epoch 1$" one-resumed.txt || { cat one-resumed.txt; fail "resume should say it keeps the run's 1 epoch"; }
[[ $(wc -l < run-one/metrics.csv) -eq 2 ]] || fail "a resume without --epochs must not train past the run's own epochs"
# The splits are checked before training: a missing test split is found at once, not after training.
mkdir -p notest/aclImdb && cp -r data/aclImdb/train notest/aclImdb/
expect_error "notest/aclImdb/test" -- "$imdb" train --data notest "${tiny[@]}" --out run-notest
[[ ! -e run-notest/last.h5 ]] || fail "a missing test split must stop the run before it trains"

expect_usage_error --no-such-option -- "$imdb" train --no-such-option
"$imdb" train --help > help.txt || fail "train --help should exit 0"
grep -q -- --epochs help.txt || fail "train --help should list --epochs"
echo "imdb CLI: all checks passed"
