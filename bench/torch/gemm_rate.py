#!/usr/bin/python3
"""PyTorch's (OpenBLAS's) sgemm in GFLOP/s on given shapes, the twin of bench/gemm_rate: torch.mm of
float32 matrices at torch.set_num_threads(--threads) (run it with OPENBLAS_NUM_THREADS to match).
Prints one JSON line.

    /usr/bin/python3 bench/torch/gemm_rate.py --threads N --shapes 2048x2048x2048,64x5921x256 [--transpose-b]
"""
import argparse
import json
import time

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--shapes", default="2048x2048x2048")
    p.add_argument("--seconds", type=float, default=0.5)
    p.add_argument("--transpose-b", action="store_true", help="B stored (N, K), as a Linear layer's weight")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rates = []
    for shape in args.shapes.split(","):
        m, n, k = (int(v) for v in shape.split("x"))
        a = torch.randn(m, k)
        b = torch.randn(n, k).t() if args.transpose_b else torch.randn(k, n)
        c = torch.empty(m, n)
        torch.mm(a, b, out=c)  # warm-up
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            torch.mm(a, b, out=c)
            calls += 1
        elapsed = time.perf_counter() - start
        rates.append({"m": m, "n": n, "k": k, "gflops": 2.0 * m * n * k * calls / elapsed * 1e-9})
    print(json.dumps({"framework": "pytorch", "threads": args.threads, "rates": rates}))


if __name__ == "__main__":
    main()
