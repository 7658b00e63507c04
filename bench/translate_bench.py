#!/usr/bin/python3
"""Side-by-side speed of the translation Transformer (or --arch rnn): attograd and PyTorch on the same
machine, the same initial weights and the same batches, in one run. Training tokens/s (forward,
label-smoothed loss, backward, clipping, Adam, schedule; tokens = non-pad source + target ids, as
translate train counts them) over a fixed number of steps after warm-up; greedy and beam-5 decoding of
the test split (translate eval's batching, length limit and length penalty) in sentences/s, with the
hypotheses of both compared; the peak RSS after training; and a training step's achieved GFLOP/s
against the machine's sgemm figure (bench/gemm_bench.py). Each framework runs with 1 and 2 threads
(OPENBLAS_NUM_THREADS/OMP_NUM_THREADS set to match); a ratio is attograd's best figure over
PyTorch's best, and the same at one thread each.

    /usr/bin/python3 bench/translate_bench.py [--build build] [--arch transformer] [--steps 30]
        [--checkpoint runs/de-en/best.h5] [--beams 1,5] [--sentences 0] [--data DIR]

Decoding uses --checkpoint's model when given (a trained model stops at <eos> as it should); else the
untrained initial model, which mostly decodes to the length limit. Run it on an otherwise idle
machine: spinning BLAS threads of another process slow both sides.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py

from gemm_bench import machine_rate
from side_by_side import built_programs, ROOT, run_json


def same_lines(a, b):
    """(lines equal, lines) of two hypothesis files."""
    with open(a, encoding="utf-8") as fa, open(b, encoding="utf-8") as fb:
        la, lb = fa.read().split("\n"), fb.read().split("\n")
    return sum(x == y for x, y in zip(la, lb)) - (la[-1] == "" and lb[-1] == ""), len(la) - (la[-1] == "")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--arch", default="transformer", choices=("transformer", "rnn"))
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--checkpoint", default="", help="trained model to decode with (default: the initial model)")
    p.add_argument("--beams", default="1,5", help="beam sizes to decode with (1: greedy)")
    p.add_argument("--sentences", type=int, default=0, help="decode the first N sentences (0: all)")
    p.add_argument("--threads", default="1,2", help="thread counts to run, comma-separated")
    p.add_argument("--data", default="")
    args = p.parse_args()

    translate, speed = built_programs(args.build, "examples/translate", "bench/translate_speed")
    sgemm, sgemm_table = machine_rate(args.build)
    beams = [int(b) for b in args.beams.split(",") if b]
    with tempfile.TemporaryDirectory() as tmp:
        batches = os.path.join(tmp, "batches.h5")
        export = [translate, "train", "--arch", args.arch,
                  "--export-batches", batches, "--export-steps", str(args.warmup + args.steps), "--out", tmp]
        if args.data:
            export += ["--data", args.data]
        subprocess.run(export, check=True, stdout=subprocess.DEVNULL)
        with h5py.File(batches, "r") as f:
            max_tokens = json.loads(f.attrs["recipe"])["max_tokens"]
        common = ["--batches", batches, "--warmup", str(args.warmup), "--steps", str(args.steps),
                  "--sentences", str(args.sentences), "--beams", args.beams]
        if args.checkpoint:
            common += ["--decode-checkpoint", args.checkpoint]
        if args.data:
            common += ["--data", args.data]
        thread_counts = [int(t) for t in args.threads.split(",")]
        rows = []
        for threads in thread_counts:
            flops = ["--flops"] if threads == thread_counts[0] else []
            rows.append(run_json([speed, *common, *flops, "--threads", str(threads),
                                  "--hyps-out", os.path.join(tmp, f"attograd{threads}")], threads))
        for threads in thread_counts:
            rows.append(run_json([sys.executable, os.path.join(ROOT, "bench", "torch", "translate.py"), "speed",
                                  *common, "--threads", str(threads),
                                  "--hyps-out", os.path.join(tmp, f"pytorch{threads}")], threads))
        t = thread_counts[0]
        agreement = {b: same_lines(os.path.join(tmp, f"attograd{t}.beam{b}.txt"), os.path.join(tmp, f"pytorch{t}.beam{b}.txt"))
                     for b in beams}

    model = "Transformer" if args.arch == "transformer" else "LSTM + attention"
    decoded = rows[0]["decode"][0]["sentences"] if beams else 0
    print(f"Multi30k de-en {model}, batches of up to {max_tokens} padded tokens (the default recipe); "
          f"{args.steps} timed training steps after {args.warmup} warm-up; decoding {decoded} test sentences "
          f"({'trained' if args.checkpoint else 'untrained'} model), beams {args.beams}")
    head = f"{'framework':<10} {'threads':>7} {'train tok/s':>12}" + "".join(
        f" {'beam ' + str(b) + ' sent/s' if b > 1 else 'greedy sent/s':>15}" for b in beams) + f" {'train RSS MB':>13}"
    print(head)
    for r in rows:
        by_beam = {d["beam"]: d for d in r["decode"]}
        print(f"{r['framework']:<10} {r['threads']:>7} {r['train_tokens_per_s']:>12,.0f}" +
              "".join(f" {by_beam[b]['sentences_per_s']:>15,.1f}" for b in beams) +
              f" {r['training_peak_rss_mb']:>13,.0f}")

    def ratio(key, beam=None, threads=None):
        def value(r):
            return r[key] if beam is None else next(d["sentences_per_s"] for d in r["decode"] if d["beam"] == beam)
        pick = [r for r in rows if threads is None or r["threads"] == threads]
        ours = max(value(r) for r in pick if r["framework"] == "attograd")
        theirs = max(value(r) for r in pick if r["framework"] == "pytorch")
        return ours / theirs

    one = 1 in thread_counts
    for what, key, beam in [("training", "train_tokens_per_s", None)] + [
            ("greedy decoding" if b == 1 else f"beam {b} decoding", None, b) for b in beams]:
        line = f"{what}: attograd / best PyTorch = {ratio(key, beam):.2f}x"
        if one and len(thread_counts) > 1:
            line += f"; at 1 thread each {ratio(key, beam, 1):.2f}x"
        print(line)
    for b, (same, total) in agreement.items():
        print(f"{'greedy' if b == 1 else f'beam {b}'} hypotheses identical in both: {same} of {total} sentences")
    rss = {r["framework"]: min(x["training_peak_rss_mb"] for x in rows if x["framework"] == r["framework"]) for r in rows}
    print(f"peak RSS after training: attograd {rss['attograd']:,.0f} MB, PyTorch {rss['pytorch']:,.0f} MB "
          f"({rss['attograd'] / rss['pytorch']:.2f}x)")
    flops = rows[0]["train_flops_per_token"]
    if flops > 0:
        best = {f: max(r["train_tokens_per_s"] for r in rows if r["framework"] == f) for f in ("attograd", "pytorch")}
        print(f"a training step does {flops / 1e6:.1f} MFLOP per token (matrix products and attention); achieved: "
              f"attograd {flops * best['attograd'] / 1e9:.1f} GFLOP/s, PyTorch {flops * best['pytorch'] / 1e9:.1f} "
              f"GFLOP/s, against the machine's sgemm figure {sgemm:.1f} GFLOP/s "
              f"(2048^3, {json.dumps(sgemm_table)}): attograd at {100 * flops * best['attograd'] / 1e9 / sgemm:.0f}%")


if __name__ == "__main__":
    main()
