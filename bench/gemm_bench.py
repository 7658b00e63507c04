#!/usr/bin/python3
"""The machine's sgemm rate, and attograd's own GEMM beside OpenBLAS (PyTorch's BLAS) per shape, at 1
and 2 threads, in one run: GFLOP/s of C (M, N) = A (M, K) B (K, N), B stored as a Linear layer's weight
(N, K). The first shape, 2048 x 2048 x 2048, gives the machine's figure the training benchmarks compare
a step's rate with; the others are the translation models' products (batch rows x layer sizes).

    /usr/bin/python3 bench/gemm_bench.py [--build build] [--shapes MxNxK,...]

Run it on an otherwise idle machine.
"""
import argparse
import os
import sys

from side_by_side import built_programs, ROOT, run_json

SHAPES = ("2048x2048x2048,"          # large and square: the machine's sgemm figure
          "1024x768x256,1024x256x256,1024x512x256,1024x256x512,"  # transformer training (1024 tokens a batch)
          "1024x5921x256,"           # its output layer
          "64x5921x256,64x768x256,"  # greedy decoding, 64 sentences a step
          "320x5921x1024,320x2048x768")  # rnn beam 5 decoding: output layer, LSTM cell


def rates(build, shapes, threads):
    """{framework: {shape: GFLOP/s}} at `threads` threads, B transposed."""
    gemm_rate, = built_programs(build, "bench/gemm_rate")
    out = {}
    for command in ([gemm_rate], [sys.executable, os.path.join(ROOT, "bench", "torch", "gemm_rate.py")]):
        r = run_json([*command, "--threads", str(threads), "--shapes", shapes, "--transpose-b"], threads)
        out[r["framework"]] = {f"{x['m']}x{x['n']}x{x['k']}": x["gflops"] for x in r["rates"]}
    return out


def machine_rate(build):
    """The machine's sgemm figure: the best GFLOP/s of attograd and OpenBLAS on 2048^3, 1 or 2 threads,
    and the table it came from ({threads: {framework: GFLOP/s}})."""
    table = {t: {f: v["2048x2048x2048"] for f, v in rates(build, "2048x2048x2048", t).items()} for t in (1, 2)}
    return max(v for row in table.values() for v in row.values()), table


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--shapes", default=SHAPES)
    args = p.parse_args()
    by_threads = {t: rates(args.build, args.shapes, t) for t in (1, 2)}
    print("sgemm GFLOP/s, C (M, N) = A (M, K) B^T with B stored (N, K); attograd's own GEMM and OpenBLAS (PyTorch)")
    print(f"{'M x N x K':>16} {'attograd 1t':>12} {'OpenBLAS 1t':>12} {'attograd 2t':>12} {'OpenBLAS 2t':>12}")
    for shape in args.shapes.split(","):
        print(f"{shape:>16} " + " ".join(f"{by_threads[t][f][shape]:>12.1f}" for t in (1, 2)
                                          for f in ("attograd", "pytorch")))
    best = max(v for r in by_threads.values() for f in r.values() for v in f.values())
    print(f"the machine's sgemm figure (best of the above): {best:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
