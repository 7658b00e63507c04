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

Also: the ratio at one thread each, the peak RSS after training on both sides (loading the batches
and the training steps), and a training step's achieved GFLOP/s against the machine's sgemm figure
(bench/gemm_bench.py).

Run it on an otherwise idle machine: spinning BLAS threads of another process slow both sides.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from gemm_bench import machine_rate
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
    sgemm, sgemm_table = machine_rate(args.build)
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
            rows.append(run_json([speed, *timing, "--threads", str(threads), *(["--flops"] if threads == 1 else [])],
                                 threads))
        for threads in (1, 2):
            rows.append(run_json([sys.executable, os.path.join(ROOT, "bench", "torch", "imdb.py"), *timing,
                                  "--threads", str(threads)], threads))

    masked = args.mask or args.recipe == "default"
    print(f"IMDB attention classifier, {args.recipe} recipe's batches{', masked' if masked else ''}; "
          f"{args.steps} timed steps after {args.warmup} warm-up")
    print(f"{'framework':<10} {'threads':>7} {'train tok/s':>12} {'infer tok/s':>12} {'train RSS MB':>13}")
    for r in rows:
        print(f"{r['framework']:<10} {r['threads']:>7} {r['train_tokens_per_s']:>12,.0f} {r['eval_tokens_per_s']:>12,.0f}"
              f" {r['training_peak_rss_mb']:>13,.0f}")

    def best(framework, key, threads=(1, 2)):
        return max(r[key] for r in rows if r["framework"] == framework and r["threads"] in threads)

    for kind in ("train", "eval"):
        key = f"{kind}_tokens_per_s"
        print(f"{'training' if kind == 'train' else 'inference'}: attograd / best PyTorch = "
              f"{best('attograd', key) / best('pytorch', key):.2f}x; at 1 thread each "
              f"{best('attograd', key, (1,)) / best('pytorch', key, (1,)):.2f}x")
    rss = {f: min(r["training_peak_rss_mb"] for r in rows if r["framework"] == f) for f in ("attograd", "pytorch")}
    print(f"peak RSS after training: attograd {rss['attograd']:,.0f} MB, PyTorch {rss['pytorch']:,.0f} MB "
          f"({rss['attograd'] / rss['pytorch']:.2f}x)")
    flops = rows[0]["train_flops_per_token"]
    ours, theirs = best("attograd", "train_tokens_per_s"), best("pytorch", "train_tokens_per_s")
    print(f"a training step does {flops / 1e6:.2f} MFLOP per token (matrix products); achieved: attograd "
          f"{flops * ours / 1e9:.1f} GFLOP/s, PyTorch {flops * theirs / 1e9:.1f} GFLOP/s, against the machine's sgemm "
          f"figure {sgemm:.1f} GFLOP/s (2048^3, {json.dumps(sgemm_table)}): attograd at {100 * flops * ours / 1e9 / sgemm:.0f}%")


if __name__ == "__main__":
    main()
