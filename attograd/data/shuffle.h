#pragma once
// Seeded, resumable orderings: the order of an epoch and a held-out validation split.

#include <cstdint>
#include <vector>

namespace ag::data {

/// A permutation of [0, n) that depends only on (seed, epoch): a run resumed in the middle of an
/// epoch recomputes the same order and skips the batches it already did.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

/// Indices of [0, n) split into (train, validation), `fraction` of them (rounded) held out,
/// chosen by `seed`; both lists sorted.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_validation(int64_t n, double fraction, uint64_t seed);

}  // namespace ag::data
