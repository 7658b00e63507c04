// The random generator: Philox4x32-10 against its published answers, seeding, state, distributions.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>

#include "attograd/core/core.h"

namespace {

using ag::Tensor;
using Words = std::array<uint32_t, 4>;

// Random123's known-answer vectors for Philox4x32-10 (its tests/kat_vectors: counter, key, output):
// a wrong constant, round count or word order changes every one of them.
TEST(Generator, PhiloxMatchesPublishedKnownAnswers) {
  EXPECT_EQ(ag::Generator::philox4x32({0, 0, 0, 0}, {0, 0}), (Words{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(ag::Generator::philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (Words{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(ag::Generator::philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (Words{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
  // The 64-bit form puts the counter in words 0-1 (low word first) and the key likewise.
  EXPECT_EQ(ag::Generator::philox(0x85a308d3243f6a88ull, 0x299f31d0a4093822ull),
            ag::Generator::philox4x32({0x243f6a88, 0x85a308d3, 0, 0}, {0xa4093822, 0x299f31d0}));
}

TEST(Generator, StreamPositionsReadPhiloxWords) {
  // Position p is word p % 4 of block p / 4 under the seed; uniform_at keeps its top 24 bits.
  ag::Generator gen(0x299f31d0a4093822ull);
  for (uint64_t p : {0ull, 1ull, 6ull, 4000000007ull}) {
    const uint32_t word = ag::Generator::philox(p / 4, gen.seed())[p % 4];
    EXPECT_EQ(gen.bits_at(p), word);
    EXPECT_EQ(gen.uniform_at(p), static_cast<float>(word >> 8) / 16777216.0f);
  }
  // advance() claims whole blocks, so consecutive draws never share one.
  EXPECT_EQ(gen.advance(5), 0u);
  EXPECT_EQ(gen.advance(1), 8u);
  EXPECT_EQ(gen.offset(), 12u);
}

TEST(Generator, SameSeedSameNumbersAndStateRoundTrip) {
  ag::Generator a(42), b(42), c(43);
  Tensor x = ag::randn({1000}, a), y = ag::randn({1000}, b), z = ag::randn({1000}, c);
  EXPECT_EQ(x.to_vector(), y.to_vector());
  EXPECT_NE(x.to_vector(), z.to_vector());
  // Saving (seed, offset) and restoring it replays the stream.
  const uint64_t seed = a.seed(), offset = a.offset();
  Tensor next = ag::rand({10}, a);
  ag::Generator restored;
  restored.set_state(seed, offset);
  EXPECT_EQ(ag::rand({10}, restored).to_vector(), next.to_vector());
}

TEST(Generator, Distributions) {
  ag::Generator gen(7);
  Tensor n = ag::randn({200000}, gen);
  double mean = 0, sq = 0;
  for (float v : n.to_vector()) mean += v, sq += double(v) * v;
  mean /= n.numel();
  const double std = std::sqrt(sq / n.numel() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(std, 1.0, 0.01);
  Tensor u = ag::uniform({100000}, -2.0f, 3.0f, gen);
  float lo = 1e9f, hi = -1e9f;
  for (float v : u.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GE(lo, -2.0f);
  EXPECT_LT(hi, 3.0f);
  EXPECT_LT(lo, -1.99f);
  EXPECT_GT(hi, 2.99f);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(gen.next_below(7), 7u);
}

TEST(Generator, StreamDoesNotDependOnThreadCount) {
  ag::set_num_threads(1);
  ag::Generator a(5);
  Tensor one = ag::randn({100000}, a);
  ag::set_num_threads(2);
  ag::Generator b(5);
  Tensor two = ag::randn({100000}, b);
  EXPECT_EQ(one.to_vector(), two.to_vector());
}

}  // namespace

TEST(Generator, UniformsEqualUniformAtBitForBit) {
  // The vectorised path (32 positions a time) against the scalar one, from every offset within a
  // block, over lengths that leave every kind of head and tail, with seeds using both key words.
  for (const uint64_t seed : {uint64_t{0}, uint64_t{42}, uint64_t{0xfedcba9876543210}}) {
    ag::Generator gen(seed);
    for (const uint64_t first : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{4}, uint64_t{37},
                                 (uint64_t{1} << 34) - 9}) {  // the block counter passes 2^32 (its high word)
      for (const int64_t n : {0, 1, 3, 31, 32, 33, 64, 100, 1000}) {
        std::vector<float> out(n);
        ag::Generator::uniforms(seed, first, n, out.data());
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(out[i], gen.uniform_at(first + i)) << "seed " << seed << ", position " << first + i;
      }
    }
  }
}
