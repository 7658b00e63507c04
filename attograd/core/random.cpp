#include "attograd/core/random.h"

#include <algorithm>
#include <cmath>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

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

namespace {

constexpr float kUniformScale = 0x1.0p-24f;  // 24 random bits -> [0, 1): every float in range is exact

#if defined(__AVX2__)
// 32x32 -> 64-bit products of the 8 lanes of a by m: their low and high halves, lane by lane.
inline void multiply_wide(__m256i a, __m256i m, __m256i& lo, __m256i& hi) {
  const __m256i even = _mm256_mul_epu32(a, m);                         // lanes 0, 2, 4, 6 as 64-bit
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);   // lanes 1, 3, 5, 7
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Philox4x32-10 of the 8 blocks block0 .. block0 + 7 (counter {lo, hi, 0, 0}, key {lo, hi} of seed),
// as philox4x32 does it lane by lane; words[w][lane] = word w of block block0 + lane.
void philox8(uint64_t block0, uint64_t seed, __m256i words[4]) {
  const __m256i lanes = _mm256_setr_epi64x(0, 1, 2, 3), four = _mm256_set1_epi64x(4);
  const __m256i first = _mm256_add_epi64(_mm256_set1_epi64x(static_cast<int64_t>(block0)), lanes);
  const __m256i second = _mm256_add_epi64(first, four);
  // 64-bit counters of blocks 0-3 and 4-7 -> low and high 32-bit words of all 8, in lane order.
  const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i a = _mm256_permutevar8x32_epi32(first, order), b = _mm256_permutevar8x32_epi32(second, order);
  __m256i c0 = _mm256_permute2x128_si256(a, b, 0x20), c1 = _mm256_permute2x128_si256(a, b, 0x31);
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  __m256i k0 = _mm256_set1_epi32(static_cast<int32_t>(seed)), k1 = _mm256_set1_epi32(static_cast<int32_t>(seed >> 32));
  const __m256i mul0 = _mm256_set1_epi32(static_cast<int32_t>(0xD2511F53u));
  const __m256i mul1 = _mm256_set1_epi32(static_cast<int32_t>(0xCD9E8D57u));
  const __m256i weyl0 = _mm256_set1_epi32(static_cast<int32_t>(0x9E3779B9u));
  const __m256i weyl1 = _mm256_set1_epi32(static_cast<int32_t>(0xBB67AE85u));
  for (int round = 0; round < 10; ++round) {
    __m256i lo0, hi0, lo1, hi1;
    multiply_wide(c0, mul0, lo0, hi0);
    multiply_wide(c2, mul1, lo1, hi1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), k0);
    c1 = lo1;
    c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), k1);
    c3 = lo0;
    k0 = _mm256_add_epi32(k0, weyl0);
    k1 = _mm256_add_epi32(k1, weyl1);
  }
  words[0] = c0, words[1] = c1, words[2] = c2, words[3] = c3;
}
#endif

}  // namespace

void Generator::uniforms(uint64_t seed, uint64_t first, int64_t n, float* out) {
  int64_t i = 0;
  auto scalar_until = [&](int64_t end) {  // one block per 4 positions, as uniform_at
    uint64_t block = ~uint64_t{0};
    std::array<uint32_t, 4> words{};
    for (; i < end; ++i) {
      const uint64_t pos = first + static_cast<uint64_t>(i);
      if (pos / 4 != block) block = pos / 4, words = philox(block, seed);
      out[i] = static_cast<float>(words[pos % 4] >> 8) * kUniformScale;
    }
  };
#if defined(__AVX2__)
  // Up to the first block boundary one at a time, then 8 whole blocks (32 positions) at a time.
  scalar_until(std::min<int64_t>(n, static_cast<int64_t>((4 - first % 4) % 4)));
  const __m256 scale = _mm256_set1_ps(kUniformScale);
  for (; i + 32 <= n; i += 32) {
    __m256i w[4];
    philox8((first + static_cast<uint64_t>(i)) / 4, seed, w);
    // Lane-major (block by block, word by word) is the stream order: transpose the 4 x 8 words.
    const __m256i t0 = _mm256_unpacklo_epi32(w[0], w[1]), t1 = _mm256_unpackhi_epi32(w[0], w[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(w[2], w[3]), t3 = _mm256_unpackhi_epi32(w[2], w[3]);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);  // blocks 0,1 | 4,5
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);  // blocks 2,3 | 6,7
    const __m256i ordered[4] = {_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u2, u3, 0x20),
                                _mm256_permute2x128_si256(u0, u1, 0x31), _mm256_permute2x128_si256(u2, u3, 0x31)};
    for (int q = 0; q < 4; ++q)
      _mm256_storeu_ps(out + i + 8 * q, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(ordered[q], 8)), scale));
  }
#endif
  scalar_until(n);
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
