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

/// The counts BLEU is made of. Corpus BLEU sums them over the sentences before dividing, so the
/// BLEU of any subset or resample of a corpus is bleu_from_counts of the sum of its sentences' counts.
struct BleuCounts {
  int64_t hypothesis_length = 0, reference_length = 0;
  std::array<int64_t, 4> matches{};  // clipped n-gram matches, n = 1..4
  std::array<int64_t, 4> totals{};   // hypothesis n-grams, n = 1..4
  BleuCounts& operator+=(const BleuCounts& other);
};

/// One sentence's counts: matches[n-1] counts each hypothesis n-gram at most as often as the
/// reference has it (clipping); totals[n-1] = max(|hyp| - n + 1, 0).
BleuCounts sentence_counts(const std::vector<std::string>& hypothesis, const std::vector<std::string>& reference);

/// BLEU = 100 * BP * exp(mean_n log p_n), p_n = matches / totals, n = 1..4; BP = exp(1 - r/c) when
/// the hypotheses are shorter in total (c < r), else 1. No smoothing: any p_n = 0 gives 0 (as
/// multi-bleu.perl).
Bleu bleu_from_counts(const BleuCounts& counts);

/// Corpus BLEU: bleu_from_counts of the summed sentence counts. One reference per hypothesis; both
/// already tokenised.
Bleu corpus_bleu(const std::vector<std::vector<std::string>>& hypotheses,
                 const std::vector<std::vector<std::string>>& references);

}  // namespace ag::train
