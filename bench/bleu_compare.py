"""Is system A's BLEU really above system B's on this test set? Paired bootstrap resampling (Koehn,
"Statistical significance tests for machine translation evaluation", 2004).

    /usr/bin/python3 bench/bleu_compare.py A.txt B.txt REF.txt[.gz] [--samples 1000] [--seed 1]

A, B and REF are tokenised sentences, one per line and line-aligned (translate eval --output writes
such hypotheses). BLEU is the corpus BLEU-4 of examples/translate/evaluate.cpp (multi-bleu.perl on
tokenised text: clipped n-gram precisions, brevity penalty, no smoothing), so the full-set figures
printed here equal `translate eval`'s.

Each sample draws len(REF) sentence indices with replacement and scores A and B on that same
draw. The spread of B - A over the samples is what the choice of test sentences alone can move
the difference; it says nothing about training noise (another seed), which needs more runs.
"""
import argparse
import gzip
import math
import random
from collections import Counter


def read_lines(path):
    with (gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")) as f:
        text = f.read()
    lines = text.split("\n")  # not splitlines(): it also splits at U+2028 and friends
    if text.endswith("\n"):
        lines.pop()
    return [line.split() for line in lines]


def sentence_stats(hyp, ref):
    """[hyp_len, ref_len, matches_1, total_1, ..., matches_4, total_4] of one sentence."""
    stats = [len(hyp), len(ref)]
    for n in range(1, 5):
        h = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
        r = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
        stats += [sum(min(c, r[g]) for g, c in h.items()), max(len(hyp) - n + 1, 0)]
    return stats


def corpus_bleu(rows):
    """BLEU-4 (0..100) of summed sentence stats: BP * exp(mean log p_n); 0 when some p_n is 0."""
    totals = [sum(column) for column in zip(*rows)]
    hyp_len, ref_len = totals[0], totals[1]
    if hyp_len == 0 or any(totals[2 + 2 * k] == 0 for k in range(4)):
        return 0.0
    log_precision = sum(math.log(totals[2 + 2 * k] / totals[3 + 2 * k]) for k in range(4)) / 4
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * brevity * math.exp(log_precision)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("ref")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    a, b, ref = read_lines(args.a), read_lines(args.b), read_lines(args.ref)
    for name, hyps in ((args.a, a), (args.b, b)):
        if len(hyps) != len(ref):
            raise SystemExit(f"{name} has {len(hyps)} lines but {args.ref} has {len(ref)}: not line-aligned")
    stats_a = [sentence_stats(h, r) for h, r in zip(a, ref)]
    stats_b = [sentence_stats(h, r) for h, r in zip(b, ref)]
    bleu_a, bleu_b = corpus_bleu(stats_a), corpus_bleu(stats_b)
    print(f"A  {bleu_a:6.2f}  {args.a}")
    print(f"B  {bleu_b:6.2f}  {args.b}")
    print(f"B - A = {bleu_b - bleu_a:+.2f} BLEU on all {len(ref)} sentences")

    rng = random.Random(args.seed)
    diffs = []
    for _ in range(args.samples):
        draw = [rng.randrange(len(ref)) for _ in range(len(ref))]
        diffs.append(corpus_bleu([stats_b[i] for i in draw]) - corpus_bleu([stats_a[i] for i in draw]))
    diffs.sort()
    low, high = diffs[int(0.025 * len(diffs))], diffs[int(0.975 * len(diffs)) - 1]
    b_wins = sum(d > 0 for d in diffs) / len(diffs)
    print(f"paired bootstrap, {args.samples} samples: B - A in [{low:+.2f}, {high:+.2f}] (95%), "
          f"B above A in {100 * b_wins:.1f}% of samples")


if __name__ == "__main__":
    main()
