#!/usr/bin/env bash
# Faults that must lose nothing, and damaged files that must be refused, end to end with the real
# programs: a full disk (a file size limit), flipped bits, two runs on one folder, an output path
# that is an input, kill -9 at random moments, SIGTERM/SIGINT, a diverging run. Each case names the
# guarantee it checks.
#
#   tests/cli/faults_cli.sh PATH/TO/imdb PATH/TO/translate
[[ $# -eq 2 ]] || { echo "usage: tests/cli/faults_cli.sh PATH/TO/imdb PATH/TO/translate" >&2; exit 2; }
imdb=$(realpath "$1")
translate=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
source "$here/imdb_data.sh"
source "$here/multi30k_data.sh"

write_tree data 40
mkdir corpus && (cd corpus && write_split train 200 1 && write_split val 20 2 && write_split test_2016_flickr 20 3)
tiny=(--vocab 30 --maxlen 16 --batch 8 --threads 1)
tiny_translate=(--data corpus --arch rnn --embed 16 --hidden 32 --threads 1)

# files_equal A B: byte for byte (attograd's checkpoints hold no timestamps, so one state, one file).
files_equal() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; }
no_temporaries() { ! ls "$1" | grep -q '\.tmp-' || fail "temporary files left in $1: $(ls "$1")"; }

echo "== $SECONDS s: a full disk: the write fails with a message, the last checkpoints stay as they were"
"$imdb" train --data data "${tiny[@]}" --epochs 1 --out full > full1.txt 2>&1 || { cat full1.txt; fail "imdb train"; }
cp full/last.h5 last.keep && cp full/best.h5 best.keep
# A file size limit below a checkpoint's size: metrics.csv still grows, the next checkpoint cannot be written.
limit_kb=$(($(stat -c %s full/best.h5) / 2048))
rc=0
(ulimit -f "$limit_kb" && exec "$imdb" train --resume full --epochs 2) > full2.txt 2>&1 || rc=$?
[[ $rc -eq 1 ]] || { cat full2.txt; fail "imdb past the size limit exited $rc, expected 1"; }
grep -q "File too large" full2.txt && grep -q "full/.*\.h5" full2.txt || { cat full2.txt; fail "the message should name the file and the cause"; }
files_equal full/last.h5 last.keep
files_equal full/best.h5 best.keep
no_temporaries full
"$imdb" train --resume full --epochs 2 > full3.txt 2>&1 || { cat full3.txt; fail "the run should resume once there is room"; }
"$translate" train "${tiny_translate[@]}" --epochs 1 --out tfull > tfull1.txt 2>&1 || { cat tfull1.txt; fail "translate train"; }
cp tfull/last.h5 tlast.keep
rc=0
(ulimit -f "$(($(stat -c %s tfull/last.h5) / 2048))" && exec "$translate" train --resume tfull --epochs 2) > tfull2.txt 2>&1 || rc=$?
[[ $rc -eq 1 ]] || { cat tfull2.txt; fail "translate past the size limit exited $rc, expected 1"; }
grep -q "File too large" tfull2.txt || { cat tfull2.txt; fail "translate: the message should name the cause"; }
files_equal tfull/last.h5 tlast.keep
"$translate" train --resume tfull --epochs 2 > tfull3.txt 2>&1 || { cat tfull3.txt; fail "translate should resume once there is room"; }

echo "== $SECONDS s: damaged checkpoints are refused, never a crash and never other answers"
good=full/best.h5
size=$(stat -c %s "$good")
# flip FILE OFFSET BIT: flips one bit in place.
flip() {
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ (1 << $3))))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
RANDOM=2691
offsets=(0 7 8 12 16 24 511 512 520 $((size - 1)))
for ((i = 0; i < 40; ++i)); do offsets+=($(((RANDOM * 32768 + RANDOM) % size))); done
for offset in "${offsets[@]}"; do
  cp "$good" flipped.h5
  flip flipped.h5 "$offset" $((RANDOM % 8))
  expect_error flipped.h5 -- "$imdb" predict --checkpoint flipped.h5 "a good film"
done
head -c $((size / 2)) "$good" > truncated.h5
expect_error truncated.h5 "truncated" -- "$imdb" predict --checkpoint truncated.h5 "a good film"
echo "   ${#offsets[@]} single-bit flips and a truncation refused"

echo "== $SECONDS s: checkpoints stay plain HDF5: h5py reads them, and files h5py writes are checked too"
/usr/bin/python3 - "$good" <<'PY' || fail "h5py could not read $good"
import json, sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f.userblock_size == 512, f.userblock_size
    assert f.attrs["format_version"] == 1
    words = len(f["vocab/words"])
    assert f["model/embedding.weight"].shape == (words, 128), (f["model/embedding.weight"].shape, words)
    json.loads(f.attrs["config"])
PY
# unsealed FILE CHANGE: a copy of the good checkpoint written by h5py (no seal, as a file from
# PyTorch users or from attograd 0.1 has none), with CHANGE applied to it.
unsealed() {
  /usr/bin/python3 - "$good" "$1" "$2" <<'PY'
import sys
import h5py
import numpy as np
src, dst, change = sys.argv[1:]
with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
    for key in a:
        a.copy(key, b)
    for key, value in a.attrs.items():
        b.attrs[key] = value
    if change == "short-vocab":
        words = [w.decode() for w in b["vocab/words"][:-1]]
        del b["vocab/words"]
        b.create_dataset("vocab/words", data=words, dtype=h5py.string_dtype())
    elif change == "nan-weight":
        w = b["model/classifier.weight"][...]
        w[0, 0] = np.nan
        b["model/classifier.weight"][...] = w
PY
}
unsealed plain.h5 none
"$imdb" predict --checkpoint plain.h5 "a good film" > plain.txt 2>&1 || { cat plain.txt; fail "an unsealed copy should load"; }
unsealed short.h5 short-vocab
expect_error short.h5 "vocabulary has" "inconsistent" -- "$imdb" predict --checkpoint short.h5 "a good film"
unsealed nan.h5 nan-weight
expect_error nan.h5 classifier.weight nan -- "$imdb" predict --checkpoint nan.h5 "a good film"

echo "== $SECONDS s: one run per folder"
# Two runs started together on one --out: one trains, the other is refused and changes nothing.
"$imdb" train --data data "${tiny[@]}" --epochs 3 --out twice > twice1.txt 2>&1 & first=$!
"$imdb" train --data data "${tiny[@]}" --epochs 3 --out twice > twice2.txt 2>&1 & second=$!
rc1=0 rc2=0
wait $first || rc1=$?
wait $second || rc2=$?
[[ $((rc1 + rc2)) -eq 1 && $((rc1 * rc2)) -eq 0 ]] || { cat twice1.txt twice2.txt; fail "exits $rc1 and $rc2: one run should succeed, one be refused"; }
cat twice1.txt twice2.txt | grep -qE "in use by another training run|already holds a run" || fail "the refused run should say why"
[[ $(wc -l < twice/metrics.csv) -eq 4 ]] || { cat twice/metrics.csv; fail "metrics.csv should hold one run's 3 epochs"; }
# A folder another process holds is refused at once, naming the holder; a dead holder blocks nothing.
mkdir held
flock --close held/.lock sleep 60 > /dev/null 2>&1 &  # --close: only flock itself holds the lock
holder=$!
until ! flock -n held/.lock true 2>/dev/null; do sleep 0.05; done
echo "$holder" > held/.lock
expect_error "in use by another training run" "pid $holder" -- "$imdb" train --data data "${tiny[@]}" --epochs 1 --out held
kill $(pgrep -P $holder) $holder && wait $holder 2>/dev/null || true
"$imdb" train --data data "${tiny[@]}" --epochs 1 --out held > held.txt 2>&1 || { cat held.txt; fail "a stale lock must not block"; }

echo "== $SECONDS s: an output path that is an input is refused, by any name"
cp "$good" guard.h5
ln -s "$work/$good" link.h5
expect_usage_error --explain "$good" -- "$imdb" predict --checkpoint "$good" --explain "$good" "good"
expect_usage_error --explain -- "$imdb" predict --checkpoint "$good" --explain "./full//best.h5" "good"
expect_usage_error --explain -- "$imdb" predict --checkpoint link.h5 --explain "$good" "good"
expect_usage_error --predictions -- "$imdb" eval --checkpoint "$good" --predictions link.h5
files_equal "$good" guard.h5
cp tfull/best.h5 tguard.h5
expect_usage_error --output -- "$translate" eval --checkpoint tfull/best.h5 --output tfull/best.h5
expect_usage_error --output -- "$translate" eval --checkpoint tfull/best.h5 --output corpus/test_2016_flickr.lc.norm.tok.en
expect_usage_error --attention-svg -- "$translate" predict --checkpoint tfull/best.h5 --attention-svg tfull/best.h5 "ein hund"
expect_usage_error --out -- "$translate" average tfull/best.h5 tfull/last.h5 --out ./tfull/best.h5
files_equal tfull/best.h5 tguard.h5

echo "== $SECONDS s: kill -9 at random moments: last.h5 always loads and the run ends bit for bit as an unkilled one"
kill_run=(--data data "${tiny[@]}" --epochs 12 --save-every 1)  # ~5 s, a checkpoint at every step
"$imdb" train "${kill_run[@]}" --out straight > straight.txt 2>&1 || { cat straight.txt; fail "the unkilled run"; }
RANDOM=9
kills=0
while ((kills < 10)); do
  if [[ -f killed/last.h5 ]]; then args=(--resume killed); else args=("${kill_run[@]}" --out killed --overwrite); fi
  "$imdb" train "${args[@]}" > killed.txt 2>&1 &
  pid=$!
  sleep "0.$(printf '%03d' $((50 + RANDOM % 900)))"
  kill -9 $pid 2>/dev/null || true
  rc=0
  wait $pid 2>/dev/null || rc=$?
  case $rc in
    137) kills=$((kills + 1)) ;;
    0) ;;  # it ended before the kill
    *) cat killed.txt; fail "a run between kills exited $rc (could it not load last.h5?)" ;;
  esac
done
"$imdb" train --resume killed > killed.txt 2>&1 || { cat killed.txt; fail "the last resume after 10 kills"; }
files_equal straight/last.h5 killed/last.h5
files_equal straight/best.h5 killed/best.h5
no_temporaries killed

echo "== $SECONDS s: SIGTERM and SIGINT save, stop, and exit 143 and 130"
# signal_run SIGNAL EXPECTED ARGS...: starts imdb train ARGS, signals it once it trains, checks the exit.
signal_run() {
  local signal=$1 expected=$2
  shift 2
  "$imdb" train "$@" > signal.txt 2>&1 &
  local pid=$! rc=0
  until [[ -f sig/metrics.csv ]] || ! kill -0 $pid 2>/dev/null; do sleep 0.02; done
  sleep 0.3
  kill -s "$signal" $pid
  wait $pid || rc=$?
  [[ $rc -eq $expected ]] || { cat signal.txt; fail "$signal: exited $rc, expected $expected"; }
  grep -q "stopped" signal.txt || { cat signal.txt; fail "$signal: no word of stopping"; }
}
signal_run TERM 143 --data data "${tiny[@]}" --epochs 1000 --out sig
cp sig/last.h5 sig1.h5
rm sig/metrics.csv  # the next run's start is seen when it writes it anew
signal_run INT 130 --resume sig
cmp -s sig/last.h5 sig1.h5 && fail "SIGINT: last.h5 should hold the later state"

echo "== $SECONDS s: a diverging run stops at the first non-finite loss, naming the step, and never saves it"
# At --lr 1e38 Adam's first update overflows the weights; the next loss is NaN.
expect_error "step 2: the loss is NaN" -- "$imdb" train --data data "${tiny[@]}" --lr 1e38 --out nan
expect_error "step 1: the update made" "Inf" -- "$imdb" train --data data "${tiny[@]}" --lr 1e38 --save-every 1 --out nan-saved
[[ ! -e nan-saved/last.h5 ]] || fail "non-finite weights must never be saved"
# The article's recipe (no dropout, no mask): there the overflowed LSTM weights make the first NaN.
expect_error "anomaly" "lstm" "NaN" -- "$imdb" train --recipe article --data data "${tiny[@]}" --lr 1e38 --detect-anomaly \
  --out nan-anomaly
echo "faults CLI: all checks passed"
