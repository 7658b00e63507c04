#include "attograd/data/bucketing.h"

#include <algorithm>

#include "attograd/core/error.h"
#include "attograd/core/random.h"
#include "attograd/data/shuffle.h"

namespace ag::data {

std::vector<std::vector<int64_t>> bucket_batches(const std::vector<int64_t>& source_lengths,
                                                 const std::vector<int64_t>& target_lengths, int64_t max_tokens,
                                                 int64_t max_sentences, uint64_t seed, int64_t epoch) {
  check(source_lengths.size() == target_lengths.size(), "bucket_batches: {} source lengths but {} target lengths",
        source_lengths.size(), target_lengths.size());
  check(max_tokens > 0 || max_sentences > 0, "bucket_batches: give max_tokens or max_sentences");
  const int64_t n = static_cast<int64_t>(source_lengths.size());
  // Shuffle first, then sort stably by length: equal lengths come out in a random order.
  std::vector<int64_t> order = epoch_order(n, seed, epoch);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return source_lengths[a] != source_lengths[b] ? source_lengths[a] < source_lengths[b]
                                                  : target_lengths[a] < target_lengths[b];
  });
  std::vector<std::vector<int64_t>> batches;
  std::vector<int64_t> current;
  int64_t longest_source = 0, longest_target = 0;
  for (int64_t i : order) {
    const int64_t s = std::max(longest_source, source_lengths[i]), t = std::max(longest_target, target_lengths[i]);
    const int64_t count = static_cast<int64_t>(current.size()) + 1;
    const bool too_many_tokens = max_tokens > 0 && count * (s + t) > max_tokens;
    const bool too_many_sentences = max_sentences > 0 && count > max_sentences;
    if (!current.empty() && (too_many_tokens || too_many_sentences)) {
      batches.push_back(std::move(current));
      current.clear();
      longest_source = longest_target = 0;
    }
    current.push_back(i);
    longest_source = std::max(longest_source, source_lengths[i]);
    longest_target = std::max(longest_target, target_lengths[i]);
  }
  if (!current.empty()) batches.push_back(std::move(current));
  // Batch order: a permutation drawn from a stream distinct from the pair shuffle's.
  const std::vector<int64_t> batch_order = epoch_order(static_cast<int64_t>(batches.size()), ~seed, epoch);
  std::vector<std::vector<int64_t>> shuffled(batches.size());
  for (size_t k = 0; k < batches.size(); ++k) shuffled[k] = std::move(batches[batch_order[k]]);
  return shuffled;
}

}  // namespace ag::data
