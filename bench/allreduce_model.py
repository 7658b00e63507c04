#!/usr/bin/env python3
"""The cost of a data-parallel step on N machines, from a model (docs/distributed.md).

A ring allreduce of S bytes over N machines sends and receives 2 (N - 1) / N x S bytes per machine
in 2 (N - 1) messages, so on a link of B bytes/s with a per-message latency a it takes
    t(N) = 2 (N - 1) / N x S / B + 2 (N - 1) x a.
Each machine computes its share of the global batch: c(N) = C / N for a step that takes C seconds on
one machine (the measured compute time per step). With no overlap the step takes c + t; the
efficiency is c / (c + t). The global batch that keeps the efficiency at E has per-machine compute
c = E / (1 - E) x t, i.e. a per-machine batch of that many samples at the measured seconds per sample.

  /usr/bin/python3 bench/allreduce_model.py --params 1374921 --step-ms 128 --batch 64
"""
import argparse


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", type=int, required=True, help="parameters (float32 gradient entries)")
    p.add_argument("--step-ms", type=float, required=True, help="compute time of one global-batch step on one machine")
    p.add_argument("--batch", type=int, required=True, help="the global batch of that step (samples, or tokens)")
    p.add_argument("--latency-us", type=float, default=30.0, help="per-message latency (TCP over Ethernet: ~20-50 us)")
    p.add_argument("--efficiency", type=float, default=0.8, help="target compute / (compute + allreduce)")
    args = p.parse_args()
    size = 4.0 * args.params
    per_sample = args.step_ms / 1e3 / args.batch
    print(f"gradient {size / 1e6:.2f} MB; compute {args.step_ms:.0f} ms per step of {args.batch} on one machine; "
          f"latency {args.latency_us:.0f} us per message")
    links = (1, 10, 25)
    print("| machines | compute per step (ms) | " + " | ".join(f"{g} Gbit/s: allreduce (ms), efficiency" for g in links)
          + " | " + " | ".join(f"batch for {round(100 * args.efficiency)}% at {g} Gbit/s" for g in links) + " |")
    print("|---" * (2 + 2 * len(links)) + "|")
    for n in (2, 4, 8, 16, 32, 64):
        c = args.step_ms / 1e3 / n
        cells, needs = [], []
        for gbit in links:
            t = 2 * (n - 1) / n * size / (gbit * 1e9 / 8) + 2 * (n - 1) * args.latency_us * 1e-6
            cells.append(f"{1e3 * t:.1f}, {100 * c / (c + t):.0f}%")
            needs.append(f"{args.efficiency / (1 - args.efficiency) * t / per_sample * n:,.0f}")
        print(f"| {n} | {1e3 * c:.1f} | " + " | ".join(cells) + " | " + " | ".join(needs) + " |")

if __name__ == "__main__":
    main()
