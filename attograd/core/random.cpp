#include "attograd/core/random.h"

#include <cmath>

#include "attograd/core/threads.h"

namespace ag {

std::array<uint32_t, 4> Generator::philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
  // Ten rounds of: two 32x32->64 multiplies whose high halves are mixed with the other words and
  // the key; the key is bumped by the Weyl constants between rounds.
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  auto [c0, c1, c2, c3] = counter;
  auto [k0, k1] = key;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {c0, c1, c2, c3};
}

std::array<uint32_t, 4> Generator::philox(uint64_t counter, uint64_t key) {
  const auto lo = [](uint64_t v) { return static_cast<uint32_t>(v); };
  const auto hi = [](uint64_t v) { return static_cast<uint32_t>(v >> 32); };
  return philox4x32({lo(counter), hi(counter), 0, 0}, {lo(key), hi(key)});
}

void Generator::fill_uniform(float* out, int64_t n, float low, float high) {
  const uint64_t base = advance(static_cast<uint64_t>(n));
  const float scale = high - low;
  parallel_for(n, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = low + scale * uniform_at(base + i);
  });
}

void Generator::fill_normal(float* out, int64_t n, float mean, float std) {
  const uint64_t base = advance(2 * static_cast<uint64_t>(n));
  parallel_for(n, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      // Box-Muller from positions 2i and 2i+1; u1 in (0, 1] keeps log finite.
      const double u1 = 1.0 - uniform_at(base + 2 * i);
      const double u2 = uniform_at(base + 2 * i + 1);
      const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
      out[i] = mean + std * static_cast<float>(z);
    }
  });
}

uint64_t Generator::next_below(uint64_t n) {
  const uint64_t base = advance(2);
  const uint64_t r = (static_cast<uint64_t>(bits_at(base)) << 32) | bits_at(base + 1);
  return n ? r % n : 0;  // bias below 2^-32 for the sizes attograd shuffles
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

}  // namespace ag
