#pragma once
// Corpus BLEU-4 as multi-bleu.perl computes it on tokenised text (Papineni et al., 2002).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ag::train {

struct Bleu {
  double score = 0;                     // 0..100
  std::array<double, 4> precisions{};   // modified n-gram precisions p1..p4, 0..1
  double brevity_penalty = 1;
  int64_t hypothesis_length = 0, reference_length = 0;
  std::string to_string() const;        // "BLEU = 37.12, 70.1/45.3/31.0/21.9 (BP=0.982, ratio=0.982, hyp_len=..., ref_len=...)"
};

/// BLEU = 100 * BP * exp(mean_n log p_n) over the whole corpus, n = 1..4: p_n = clipped n-gram
/// matches / hypothesis n-grams, summed over all sentences; BP = exp(1 - r/c) when the hypotheses are
/// shorter in total (c < r), else 1. No smoothing: any p_n = 0 gives 0 (as multi-bleu.perl). One
/// reference per hypothesis; both already tokenised.
Bleu corpus_bleu(const std::vector<std::vector<std::string>>& hypotheses,
                 const std::vector<std::vector<std::string>>& references);

}  // namespace ag::train
