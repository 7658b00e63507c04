#include "attograd/train/bleu.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "attograd/core/error.h"

namespace ag::train {

namespace {
using NGramCounts = std::map<std::vector<std::string>, int64_t>;

NGramCounts ngrams(const std::vector<std::string>& tokens, size_t n) {
  NGramCounts counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) ++counts[std::vector<std::string>(tokens.begin() + i, tokens.begin() + i + n)];
  return counts;
}
}  // namespace

BleuCounts& BleuCounts::operator+=(const BleuCounts& other) {
  hypothesis_length += other.hypothesis_length;
  reference_length += other.reference_length;
  for (size_t n = 0; n < 4; ++n) matches[n] += other.matches[n], totals[n] += other.totals[n];
  return *this;
}

BleuCounts sentence_counts(const std::vector<std::string>& hyp, const std::vector<std::string>& ref) {
  BleuCounts c;
  c.hypothesis_length = static_cast<int64_t>(hyp.size());
  c.reference_length = static_cast<int64_t>(ref.size());
  for (size_t n = 1; n <= 4; ++n) {
    const NGramCounts h = ngrams(hyp, n), r = ngrams(ref, n);
    for (const auto& [gram, count] : h) {
      auto it = r.find(gram);
      if (it != r.end()) c.matches[n - 1] += std::min(count, it->second);  // clipped by the reference's count
    }
    c.totals[n - 1] = hyp.size() >= n ? static_cast<int64_t>(hyp.size() - n + 1) : 0;
  }
  return c;
}

Bleu bleu_from_counts(const BleuCounts& c) {
  Bleu b;
  b.hypothesis_length = c.hypothesis_length;
  b.reference_length = c.reference_length;
  double log_sum = 0;
  bool zero = false;
  for (size_t n = 0; n < 4; ++n) {
    b.precisions[n] = c.totals[n] > 0 ? static_cast<double>(c.matches[n]) / static_cast<double>(c.totals[n]) : 0.0;
    if (b.precisions[n] == 0) zero = true;
    else log_sum += std::log(b.precisions[n]);
  }
  if (b.hypothesis_length < b.reference_length)
    b.brevity_penalty = b.hypothesis_length > 0
                            ? std::exp(1.0 - static_cast<double>(b.reference_length) / static_cast<double>(b.hypothesis_length))
                            : 0.0;
  b.score = zero ? 0.0 : 100.0 * b.brevity_penalty * std::exp(log_sum / 4.0);
  return b;
}

Bleu corpus_bleu(const std::vector<std::vector<std::string>>& hypotheses,
                 const std::vector<std::vector<std::string>>& references) {
  check(hypotheses.size() == references.size(), "bleu: {} hypotheses for {} references", hypotheses.size(),
        references.size());
  BleuCounts total;
  for (size_t s = 0; s < hypotheses.size(); ++s) total += sentence_counts(hypotheses[s], references[s]);
  return bleu_from_counts(total);
}

std::string Bleu::to_string() const {
  const double ratio = reference_length ? static_cast<double>(hypothesis_length) / static_cast<double>(reference_length) : 0;
  return fmt::format("BLEU = {:.2f}, {:.1f}/{:.1f}/{:.1f}/{:.1f} (BP={:.3f}, ratio={:.3f}, hyp_len={}, ref_len={})", score,
                     100 * precisions[0], 100 * precisions[1], 100 * precisions[2], 100 * precisions[3],
                     brevity_penalty, ratio, hypothesis_length, reference_length);
}

}  // namespace ag::train
