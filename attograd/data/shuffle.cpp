#include "attograd/data/shuffle.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attograd/core/error.h"
#include "attograd/core/random.h"

namespace ag::data {

namespace {
// Fisher-Yates with a counter-based generator.
std::vector<int64_t> permutation(int64_t n, Generator& gen) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.next_below(static_cast<uint64_t>(i + 1))]);
  return order;
}
}  // namespace

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  // A distinct stream per (seed, epoch): the epoch goes into the high bits of the key.
  Generator gen(seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(epoch + 1)));
  return permutation(n, gen);
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> split_validation(int64_t n, double fraction, uint64_t seed) {
  check(fraction >= 0.0 && fraction < 1.0, "split_validation: fraction must be in [0, 1), got {}", fraction);
  Generator gen(seed);
  std::vector<int64_t> order = permutation(n, gen);
  const auto held_out = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  std::vector<int64_t> validation(order.begin(), order.begin() + held_out), train(order.begin() + held_out, order.end());
  std::sort(validation.begin(), validation.end());
  std::sort(train.begin(), train.end());
  return {train, validation};
}

}  // namespace ag::data
