#!/usr/bin/python3
"""Side-by-side speed of the IMDB attention classifier: attograd and PyTorch on the same machine, on
the same batches, in one run. Training tokens/s (forward, loss, backward, Adam step) and inference
tokens/s, tokens = batch x maxlen per step, timed over a fixed number of steps after warm-up.
PyTorch runs with torch.set_num_threads and OPENBLAS_NUM_THREADS/OMP_NUM_THREADS at 1 and at 2;
the ratio is attograd's best figure over PyTorch's best.

    /usr/bin/python3 bench/imdb_bench.py [--build build] [--recipe article|default] [--mask] [--steps 30] [--data DIR]

The batches are those of `imdb train --recipe R` (the article's by default: batch 32, pre-padded, no
dropout, so the figures stay comparable across versions; the default recipe is batch 64, masked,
with dropout).

Run it on an otherwise idle machine: spinning BLAS threads of another process slow both sides.
"""
import argparse
import os
import subprocess
import sys
import tempfile

from side_by_side import built_programs, ROOT, run_json


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--recipe", choices=["article", "default"], default="article")
    p.add_argument("--mask", action="store_true")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--data", default="")
    args = p.parse_args()

    imdb, speed = built_programs(args.build, "examples/imdb", "bench/imdb_speed")
    with tempfile.TemporaryDirectory() as tmp:
        batches = os.path.join(tmp, "batches.h5")
        export = [imdb, "train", "--recipe", args.recipe, "--export-batches", batches,
                  "--export-steps", str(args.warmup + args.steps), "--out", tmp]
        if args.mask:
            export.append("--mask")
        if args.data:
            export += ["--data", args.data]
        subprocess.run(export, check=True, stdout=subprocess.DEVNULL)
        timing = ["--batches", batches, "--warmup", str(args.warmup), "--steps", str(args.steps)]
        rows = []
        for threads in (1, 2):
            rows.append(run_json([speed, *timing, "--threads", str(threads)], threads))
        for threads in (1, 2):
            rows.append(run_json([sys.executable, os.path.join(ROOT, "bench", "torch", "imdb.py"), *timing,
                                  "--threads", str(threads)], threads))

    masked = args.mask or args.recipe == "default"
    print(f"IMDB attention classifier, {args.recipe} recipe's batches{', masked' if masked else ''}; "
          f"{args.steps} timed steps after {args.warmup} warm-up")
    print(f"{'framework':<10} {'threads':>7} {'train tok/s':>12} {'infer tok/s':>12}")
    for r in rows:
        print(f"{r['framework']:<10} {r['threads']:>7} {r['train_tokens_per_s']:>12,.0f} {r['eval_tokens_per_s']:>12,.0f}")
    for kind in ("train", "eval"):
        key = f"{kind}_tokens_per_s"
        ours = max(r[key] for r in rows if r["framework"] == "attograd")
        theirs = max(r[key] for r in rows if r["framework"] == "pytorch")
        print(f"{'training' if kind == 'train' else 'inference'}: attograd / best PyTorch = {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
