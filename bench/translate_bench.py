#!/usr/bin/python3
"""Side-by-side speed of the translation Transformer (or --arch rnn): attograd and PyTorch on the same
machine, the same initial weights and the same batches, in one run. Training tokens/s (forward,
label-smoothed loss, backward, clipping, Adam, schedule; tokens = non-pad source + target ids, as
translate train counts them) over a fixed number of steps after warm-up, and greedy decoding of the
test split (translate eval's batching and length limit) in sentences/s and decoding steps/s.
Each framework runs with 1 and 2 threads (OPENBLAS_NUM_THREADS/OMP_NUM_THREADS set to match); the
ratios are attograd's best figure over PyTorch's best.

    /usr/bin/python3 bench/translate_bench.py [--build build] [--arch transformer] [--steps 30]
        [--checkpoint runs/de-en/best.h5] [--sentences 0] [--data DIR]

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

from side_by_side import built_programs, ROOT, run_json


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--arch", default="transformer", choices=("transformer", "rnn"))
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--checkpoint", default="", help="trained model to decode with (default: the initial model)")
    p.add_argument("--sentences", type=int, default=0, help="decode the first N test sentences (0: all)")
    p.add_argument("--threads", default="1,2", help="thread counts to run, comma-separated")
    p.add_argument("--data", default="")
    args = p.parse_args()

    translate, speed = built_programs(args.build, "examples/translate", "bench/translate_speed")
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
                  "--sentences", str(args.sentences)]
        if args.checkpoint:
            common += ["--decode-checkpoint", args.checkpoint]
        if args.data:
            common += ["--data", args.data]
        thread_counts = [int(t) for t in args.threads.split(",")]
        rows = []
        for threads in thread_counts:
            rows.append(run_json([speed, *common,
                                  "--threads", str(threads)], threads))
        for threads in thread_counts:
            rows.append(run_json([sys.executable, os.path.join(ROOT, "bench", "torch", "translate.py"), "speed",
                                  *common, "--threads", str(threads)], threads))

    model = "Transformer" if args.arch == "transformer" else "LSTM + attention"
    print(f"Multi30k de-en {model}, batches of up to {max_tokens} padded tokens (the default recipe); "
          f"{args.steps} timed training steps after {args.warmup} warm-up; greedy decoding of {rows[0]['sentences']} test sentences "
          f"({'trained' if args.checkpoint else 'untrained'} model)")
    print(f"{'framework':<10} {'threads':>7} {'train tok/s':>12} {'decode sent/s':>14} {'decode steps/s':>15}")
    for r in rows:
        print(f"{r['framework']:<10} {r['threads']:>7} {r['train_tokens_per_s']:>12,.0f} "
              f"{r['decode_sentences_per_s']:>14,.1f} {r['decode_tokens_per_s']:>15,.0f}")
    for key, what in (("train_tokens_per_s", "training"), ("decode_sentences_per_s", "greedy decoding")):
        ours = max(r[key] for r in rows if r["framework"] == "attograd")
        theirs = max(r[key] for r in rows if r["framework"] == "pytorch")
        print(f"{what}: attograd / best PyTorch = {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
