#pragma once
// Batches of sentence pairs of similar length (little padding), sized in tokens or sentences.

#include <cstdint>
#include <vector>

namespace ag::data {

/// Groups pair indices [0, n) into batches of similar length: the pairs are shuffled by (seed, epoch),
/// stably sorted by (source length, target length), and cut greedily so a batch's padded size,
/// sentences x (longest source + longest target), stays within max_tokens (when > 0) and it holds at
/// most max_sentences (when > 0). The batch order is shuffled by (seed, epoch) too, so an epoch is
/// fixed by its seed and number, and a resumed run can skip the batches it already did.
/// A pair longer than max_tokens on its own gets a batch of its own.
std::vector<std::vector<int64_t>> bucket_batches(const std::vector<int64_t>& source_lengths,
                                                 const std::vector<int64_t>& target_lengths, int64_t max_tokens,
                                                 int64_t max_sentences, uint64_t seed, int64_t epoch);

}  // namespace ag::data
