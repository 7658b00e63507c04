#!/usr/bin/env bash
# End-to-end test of the `translate` program, the commands the README gives, on a corpus this script
# writes: a word-for-word "German" -> "English" of 400 sentences. It checks the wiring of every
# subcommand (train, resume, eval, predict, average, compare) for both architectures, and that bad
# input ends in a clear error, not a crash. Learning itself is tested in tests/examples.
#
#   tests/cli/translate_cli.sh PATH/TO/translate
[[ $# -eq 1 ]] || { echo "usage: tests/cli/translate_cli.sh PATH/TO/translate" >&2; exit 2; }
translate=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"

source "$here/multi30k_data.sh"
mkdir data
(cd data && write_split train 400 1 && write_split val 20 2 && write_split test_2016_flickr 20 3)

tiny_transformer=(--d-model 32 --layers 1 --decoder-layers 1 --heads 2 --ff 64 --warmup 5)
tiny_rnn=(--arch rnn --embed 16 --hidden 32)
for arch in transformer rnn; do
  echo "== $arch"
  if [[ $arch == transformer ]]; then size=("${tiny_transformer[@]}"); else size=("${tiny_rnn[@]}"); fi

  # train: two epochs, keeping both epochs' models; then resume for a third.
  "$translate" train --data data --src de --trg en "${size[@]}" --epochs 2 --max-tokens 256 --keep-epochs 2 \
    --threads 1 --out "run-$arch" > train.txt 2>&1 || { cat train.txt; fail "$arch: train exited non-zero"; }
  for f in best.h5 last.h5 metrics.csv epoch1.h5 epoch2.h5; do [[ -f run-$arch/$f ]] || fail "$arch: no run-$arch/$f"; done
  grep -q '^summary: .* best val BLEU' train.txt || { cat train.txt; fail "$arch: train printed no summary"; }
  [[ $(wc -l < "run-$arch/metrics.csv") -eq 3 ]] || fail "$arch: metrics.csv should have a header and 2 epochs"
  "$translate" train --resume "run-$arch" --epochs 3 --threads 1 > resume.txt 2>&1 ||
    { cat resume.txt; fail "$arch: resume exited non-zero"; }
  [[ $(wc -l < "run-$arch/metrics.csv") -eq 4 ]] || fail "$arch: resume did not add epoch 3 to metrics.csv"
  grep -q '^translate de-en: 400 training' resume.txt || { cat resume.txt; fail "$arch: resume read another corpus"; }

  # eval: BLEU on the test split, hypotheses written one per source line, greedy and beam 3.
  for beam in 1 3; do
    "$translate" eval --checkpoint "run-$arch/best.h5" --data data --beam $beam --output "hyp$beam.txt" \
      --threads 1 > "eval$beam.txt" 2>&1 || { cat "eval$beam.txt"; fail "$arch: eval --beam $beam exited non-zero"; }
    grep -q 'BLEU = ' "eval$beam.txt" || fail "$arch: eval --beam $beam printed no BLEU"
    grep -q 'loss [0-9.]*, perplexity [0-9.]* over [0-9]* reference tokens' "eval$beam.txt" ||
      fail "$arch: eval --beam $beam printed no test loss"
    [[ $(wc -l < "hyp$beam.txt") -eq 20 ]] || fail "$arch: hyp$beam.txt should have 20 lines"
  done
  "$translate" eval --checkpoint "run-$arch/best.h5" --src-file data/val.lc.norm.tok.de \
    --ref-file data/val.lc.norm.tok.en --threads 1 > eval_files.txt 2>&1 || fail "$arch: eval --src-file exited non-zero"
  grep -q 'val.lc.norm.tok.de: 20 sentences' eval_files.txt || { cat eval_files.txt; fail "$arch: eval --src-file"; }
  # without --data, eval reads the test split of the corpus the run trained on
  (cd / && "$translate" eval --checkpoint "$work/run-$arch/best.h5" --threads 1) > eval_run_data.txt 2>&1 ||
    { cat eval_run_data.txt; fail "$arch: eval without --data"; }
  grep -q "$(grep -o 'BLEU = .*' eval1.txt)" eval_run_data.txt || { cat eval_run_data.txt; fail "$arch: eval without --data"; }

  # --profile on eval (greedy): the decoder's ops in the table.
  "$translate" eval --checkpoint "run-$arch/best.h5" --data data --threads 1 --profile prof.json > prof.txt 2>&1 ||
    { cat prof.txt; fail "$arch: eval --profile exited non-zero"; }
  grep -q '^log_softmax ' prof.txt && grep -q '^wall time' prof.txt && [[ -s prof.json ]] ||
    { cat prof.txt; fail "$arch: eval --profile printed no table or wrote no trace"; }

  # compare: eval's BLEU for each system again, and a system against itself differs by nothing.
  "$translate" compare hyp1.txt hyp3.txt --ref-file data/test_2016_flickr.lc.norm.tok.en --samples 200 > cmp.txt
  greedy_bleu=$(grep -o 'BLEU = [0-9.]*' eval1.txt)
  grep -q "^A  $greedy_bleu" cmp.txt || { cat eval1.txt cmp.txt; fail "$arch: compare's BLEU of A is not eval's"; }
  "$translate" compare hyp1.txt hyp1.txt --ref-file data/test_2016_flickr.lc.norm.tok.en > self.txt
  grep -q '^B - A = +0.00 BLEU on all 20 sentences' self.txt || { cat self.txt; fail "$arch: compare with itself"; }

  # predict: raw text (capitals, punctuation) from arguments and from stdin, one line out per line in.
  "$translate" predict --checkpoint "run-$arch/best.h5" --attention-svg att.svg "Ein Hund sieht zwei Katzen." \
    "Der Mann hat ein rotes Auto!" > pred.txt 2> pred_err.txt || { cat pred_err.txt; fail "$arch: predict exited non-zero"; }
  [[ $(wc -l < pred.txt) -eq 2 ]] || fail "$arch: predict should print 2 lines"
  grep -q '<svg' att.svg && grep -q '>hund<' att.svg || fail "$arch: att.svg lacks the heatmap or the source words"
  [[ $(printf 'ein hund\nzwei katzen\n\nrot\n' | "$translate" predict --checkpoint "run-$arch/best.h5" | wc -l) -eq 3 ]] ||
    fail "$arch: predict from stdin should print a line per non-empty input line"

  # average: the mean of the two epochs kept (2 and 3, after the resume) is a checkpoint eval can load.
  [[ -f run-$arch/epoch3.h5 && ! -f run-$arch/epoch1.h5 ]] || fail "$arch: --keep-epochs 2 should keep epochs 2 and 3"
  "$translate" average --out avg.h5 "run-$arch/epoch2.h5" "run-$arch/epoch3.h5" > /dev/null || fail "$arch: average"
  "$translate" eval --checkpoint avg.h5 --data data --split val --threads 1 > /dev/null 2>&1 || fail "$arch: averaged model"
done

echo "== bad input"
head -n 19 data/test_2016_flickr.lc.norm.tok.en > short.txt
expect_error short.txt 19 test_2016_flickr.lc.norm.tok.en 20 -- \
  "$translate" compare hyp1.txt short.txt --ref-file data/test_2016_flickr.lc.norm.tok.en
expect_error missing.txt -- "$translate" compare hyp1.txt missing.txt --ref-file data/test_2016_flickr.lc.norm.tok.en
expect_error nothing.h5 -- "$translate" eval --checkpoint nothing.h5 --data data
expect_error --src-file --ref-file -- "$translate" eval --checkpoint run-rnn/best.h5 --src-file data/val.lc.norm.tok.de
echo "not hdf5" > bad.h5
expect_error bad.h5 -- "$translate" predict --checkpoint bad.h5 "ein hund"
expect_error short.txt 19 20 -- "$translate" eval --checkpoint run-rnn/best.h5 --src-file data/test_2016_flickr.lc.norm.tok.de \
  --ref-file short.txt
mkdir other && (cd other && write_split train 300 4 && write_split val 20 5)
expect_error --resume "400 pairs" "$work/data" "$work/other" "has 300" -- \
  "$translate" train --resume run-rnn --data other --epochs 4 --threads 1
expect_error "run-rnn/last.h5" --resume --overwrite -- "$translate" train --data data --arch rnn --out run-rnn
expect_error /nonexistent/hyps.txt -- "$translate" eval --checkpoint run-rnn/best.h5 --data data --output /nonexistent/hyps.txt
expect_usage_error --lr -1 -- "$translate" train --data data --lr -1 --out run-bad
expect_usage_error --heads 3 --d-model 32 -- "$translate" train --data data --d-model 32 --heads 3 --out run-bad
expect_usage_error --label-smoothing 1 -- "$translate" train --data data --label-smoothing 1 --out run-bad
expect_usage_error --threads 1000000 -- "$translate" train --data data --threads 1000000 --out run-bad
expect_usage_error --seed -1 -- "$translate" train --data data --seed -1 --out run-bad
expect_usage_error --max-tokens 99999999999999999999 -- "$translate" train --data data --max-tokens 99999999999999999999 --out run-bad
[[ ! -e run-bad ]] || fail "a refused command line must leave no run folder"
expect_usage_error --warmup --resume -- "$translate" train --resume run-rnn --warmup 3
# Epochs are planned lazily: a million epochs ending at step 3 start at once.
timeout 120 "$translate" train --data data --d-model 32 --layers 1 --decoder-layers 1 --heads 2 --ff 64 --warmup 1 \
  --epochs 1000000 --max-steps 3 --threads 1 \
  --out run-lazy > lazy.txt 2>&1 || { cat lazy.txt; fail "--epochs 1000000 --max-steps 3 did not end quickly"; }
grep -q '^summary: 3 steps' lazy.txt || { cat lazy.txt; fail "--max-steps 3 should train 3 steps"; }
expect_error "train.lc.norm.tok.fr" -- "$translate" train --data data --src fr --out run-fr
expect_error empty -- "$translate" train --data "$work/empty" --src de --trg en --out run-none
# A wrong command line is a usage error (exit 2) that names the option; --help is no error at all.
expect_usage_error --checkpoint required -- "$translate" eval --data data
expect_usage_error --beam 0 -- "$translate" eval --checkpoint run-rnn/best.h5 --beam 0
expect_usage_error --no-such-option -- "$translate" train --no-such-option
"$translate" train --help > help.txt || fail "train --help should exit 0"
grep -q -- --arch help.txt || fail "train --help should list --arch"
echo "translate CLI: all checks passed"
