#!/usr/bin/env bash
# The faults of a data-parallel run under mpirun, end to end with the real program (2 ranks, one
# thread each): Ctrl-C stops every rank after rank 0 saved last.h5, and the run resumes from it;
# a rank that dies ends the others with an error naming the rank, never a hang, and the last good
# checkpoint survives; a usage error is one exit 2, not a hang.
#
#   tests/cli/dist_cli.sh PATH/TO/mpirun PATH/TO/imdb
[[ $# -eq 2 ]] || { echo "usage: tests/cli/dist_cli.sh PATH/TO/mpirun PATH/TO/imdb" >&2; exit 2; }
mpirun=$1
imdb=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
source "$here/imdb_data.sh"

write_tree data 40
tiny=(--data data --vocab 30 --maxlen 16 --batch 7 --threads 1)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
two=("$mpirun" -np 2 --oversubscribe)

echo "== $SECONDS s: a 2-rank run prints one log and writes one run folder"
"${two[@]}" "$imdb" train "${tiny[@]}" --epochs 1 --out once > once.txt 2>&1 || { cat once.txt; fail "2-rank imdb train"; }
[[ $(grep -c "^summary:" once.txt) -eq 1 ]] || { cat once.txt; fail "one summary line (rank 0's) expected"; }
[[ -f once/last.h5 && -f once/best.h5 ]] || fail "rank 0 should write last.h5 and best.h5"

echo "== $SECONDS s: a usage error under mpirun is exit 2 on every rank, no hang"
rc=0
timeout 60 "${two[@]}" "$imdb" train "${tiny[@]}" --lr -1 > usage.txt 2>&1 || rc=$?
[[ $rc -eq 2 ]] || { cat usage.txt; fail "a usage error under mpirun exited $rc, expected 2"; }

# wait_for_training PID FILE: until rank 0 has saved FILE (a last.h5, --save-every): the job trains.
wait_for_training() {
  local pid=$1 file=$2
  until [[ -f $file ]] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  sleep 0.3
}

echo "== $SECONDS s: Ctrl-C on mpirun: every rank stops after a clean save; the run resumes"
"${two[@]}" "$imdb" train "${tiny[@]}" --epochs 1000 --save-every 5 --out sig > sig.txt 2>&1 &
pid=$!
wait_for_training $pid sig/last.h5
kill -INT $pid
rc=0
timeout 60 tail --pid=$pid -f /dev/null || fail "mpirun did not end within 60 s of Ctrl-C"
wait $pid || rc=$?
[[ $rc -ne 0 ]] || { cat sig.txt; fail "an interrupted run should not exit 0"; }
grep -q "stopped" sig.txt || { cat sig.txt; fail "no word of stopping after Ctrl-C"; }
"${two[@]}" "$imdb" train --resume sig --epochs 1 > sig2.txt 2>&1 || { cat sig2.txt; fail "the interrupted 2-rank run should resume"; }

echo "== $SECONDS s: a rank killed mid-run ends the others with an error naming it; last.h5 survives"
"${two[@]}" "$imdb" train "${tiny[@]}" --epochs 1000 --save-every 5 --out dead > dead.txt 2>&1 &
pid=$!
wait_for_training $pid dead/last.h5
victim=$(pgrep -P $pid -n imdb)  # the newest rank
kill -9 "$victim"
rc=0
timeout 60 tail --pid=$pid -f /dev/null || fail "the other rank hung after one died"
wait $pid || rc=$?
[[ $rc -ne 0 ]] || { cat dead.txt; fail "a job that lost a rank exited 0"; }
grep -qi "rank" dead.txt || { cat dead.txt; fail "the message should name the rank that died"; }
"$imdb" train --resume dead --epochs 1 > dead2.txt 2>&1 || { cat dead2.txt; fail "last.h5 of the broken job should resume (alone)"; }
[[ -n ${ATTOGRAD_SHOW:-} ]] && tail -n 4 sig.txt dead.txt
echo "== $SECONDS s: passed"
