#include "attograd/train/bleu_bootstrap.h"

#include <algorithm>

#include <fmt/format.h>

#include "attograd/core/error.h"
#include "attograd/core/random.h"

namespace ag::train {

namespace {
Bleu bleu_of(const std::vector<BleuCounts>& sentences) {
  BleuCounts total;
  for (const BleuCounts& c : sentences) total += c;
  return bleu_from_counts(total);
}
}  // namespace

PairedBootstrap paired_bootstrap(const std::vector<BleuCounts>& a, const std::vector<BleuCounts>& b, int64_t samples,
                                 uint64_t seed) {
  check(a.size() == b.size(), "paired bootstrap: system A has {} sentences but system B has {}", a.size(), b.size());
  check(!a.empty(), "paired bootstrap: no sentences");
  check(samples >= 1, "paired bootstrap: samples must be at least 1, got {}", samples);
  PairedBootstrap r;
  r.a = bleu_of(a);
  r.b = bleu_of(b);
  r.samples = samples;
  Generator gen(seed);
  std::vector<double> differences(static_cast<size_t>(samples));
  int64_t above = 0, below = 0;
  for (double& difference : differences) {
    BleuCounts sum_a, sum_b;
    for (size_t i = 0; i < a.size(); ++i) {
      const uint64_t s = gen.next_below(a.size());  // the same draw for both systems: that is the pairing
      sum_a += a[s];
      sum_b += b[s];
    }
    difference = bleu_from_counts(sum_b).score - bleu_from_counts(sum_a).score;
    above += difference > 0;
    below += difference < 0;
  }
  std::sort(differences.begin(), differences.end());
  // The 2.5th and 97.5th percentiles: as many samples below low as above high.
  const auto tail = static_cast<size_t>(0.025 * static_cast<double>(samples));
  r.low = differences[tail];
  r.high = differences[differences.size() - 1 - tail];
  r.b_above = static_cast<double>(above) / static_cast<double>(samples);
  r.b_below = static_cast<double>(below) / static_cast<double>(samples);
  return r;
}

std::string PairedBootstrap::to_string() const {
  return fmt::format("B - A in [{:+.2f}, {:+.2f}] (95%), B above A in {:.1f}% of {} samples, below in {:.1f}%", low,
                     high, 100 * b_above, samples, 100 * b_below);
}

}  // namespace ag::train
