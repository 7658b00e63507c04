#pragma once
// Is system B's BLEU really above system A's on this test set? Paired bootstrap resampling (Koehn,
// "Statistical significance tests for machine translation evaluation", EMNLP 2004).

#include <cstdint>
#include <string>
#include <vector>

#include "attograd/train/bleu.h"

namespace ag::train {

struct PairedBootstrap {
  Bleu a, b;                  // on the whole test set
  int64_t samples = 0;
  double low = 0, high = 0;   // the middle 95% of BLEU(B) - BLEU(A) over the resamples
  double b_above = 0;         // fraction of resamples where B scores above A
  double b_below = 0;         // ... and below (the rest are ties)
  std::string to_string() const;  // "B - A in [-0.77, +0.86] (95%), B above A in 54.0% of 1000 samples, below in 45.6%"
};

/// Draws `samples` test sets of n sentence indices with replacement (n = the test set's size) and
/// scores A and B on each same draw, from their per-sentence counts (sentence_counts of A's and B's
/// hypothesis against the same reference). The spread of B - A is what the choice of test sentences
/// alone moves the difference; it says nothing about training noise (another seed needs another run).
/// Deterministic for a seed.
PairedBootstrap paired_bootstrap(const std::vector<BleuCounts>& a, const std::vector<BleuCounts>& b,
                                 int64_t samples = 1000, uint64_t seed = 1);

}  // namespace ag::train
