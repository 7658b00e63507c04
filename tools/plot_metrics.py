#!/usr/bin/python3
"""Draws a run's loss and accuracy curves from RUN_DIR/metrics.csv into RUN_DIR/metrics.png.

    /usr/bin/python3 tools/plot_metrics.py RUN_DIR [--out FILE]

Needs python3-matplotlib (Debian). Columns ending in _loss go on the left plot, columns ending in
_accuracy on the right, against the 'epoch' column (or 'step' when there is no epoch column).
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--out", help="image to write (default RUN_DIR/metrics.png)")
    args = p.parse_args()
    path = os.path.join(args.run_dir, "metrics.csv")
    if not os.path.exists(path):
        sys.exit(f"plot_metrics: {path} does not exist (is {args.run_dir} a run folder written by a training run?)")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"plot_metrics: {path} has no rows yet")
    x_name = "epoch" if "epoch" in rows[0] else "step"
    x = [float(r[x_name]) for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for axis, suffix, title in ((left, "_loss", "loss"), (right, "_accuracy", "accuracy")):
        for column in rows[0]:
            if column.endswith(suffix):
                values = [float(r[column]) * (100 if suffix == "_accuracy" else 1) for r in rows]
                axis.plot(x, values, marker="o", label=column.replace(suffix, ""))
        axis.set_xlabel(x_name)
        axis.set_ylabel(title + (" (%)" if suffix == "_accuracy" else ""))
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(os.path.basename(os.path.normpath(args.run_dir)))
    fig.tight_layout()
    out = args.out or os.path.join(args.run_dir, "metrics.png")
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
