// dropout: the mask comes from the generator's stream only (same seed -> same mask, any thread count),
// keeps about 1 - p of the elements, scales them by 1 / (1 - p), and is the identity in eval mode.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gradcheck.h"
#include "attograd/core/ops/attention.h"
#include "attograd/core/ops/dropout.h"
#include "attograd/core/ops/shape_ops.h"
#include "attograd/core/random.h"
#include "attograd/core/threads.h"

namespace {

using ag::testing::error_of;

using ag::Generator;
using ag::Tensor;

// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = ag::get_num_threads();
  ~ThreadCountGuard() { ag::set_num_threads(saved); }
};

TEST(Dropout, EvalModeAndZeroPAreIdentity) {
  Generator gen(1);
  const Tensor x = ag::ones({4, 5}).requires_grad_();
  EXPECT_TRUE(ag::dropout(x, 0.5f, /*training=*/false, gen).is_same(x));
  EXPECT_TRUE(ag::dropout(x, 0.0f, /*training=*/true, gen).is_same(x));
  EXPECT_EQ(gen.offset(), 0u);  // no random numbers drawn
}

TEST(Dropout, MaskIsUniformAtOfTheClaimedPositions) {
  // Element i is kept exactly when gen.uniform_at(base + i) >= p, base = the offset before the call;
  // a start offset that is not a multiple of 4 puts the Philox block boundaries mid-tensor.
  const float p = 0.4f;
  for (uint64_t start : {0u, 3u, 6u}) {
    Generator gen;
    gen.set_state(77, start);
    const Generator before = gen;
    const int64_t n = 1001;
    const Tensor y = ag::dropout(ag::ones({n}), p, true, gen);
    EXPECT_EQ(gen.offset(), start + static_cast<uint64_t>((n + 3) / 4 * 4));
    for (int64_t i = 0; i < n; ++i) {
      const bool kept = before.uniform_at(start + i) >= p;
      ASSERT_EQ(y.data()[i], kept ? 1.0f / (1.0f - p) : 0.0f) << "start " << start << " element " << i;
    }
  }
}

TEST(Dropout, SameSeedSameMaskAndTheStreamMovesOn) {
  Generator a(42), b(42);
  const Tensor x = ag::ones({64, 33});
  const Tensor ya = ag::dropout(x, 0.3f, true, a), yb = ag::dropout(x, 0.3f, true, b);
  EXPECT_EQ(ya.to_vector(), yb.to_vector());
  // The next call draws a fresh mask.
  EXPECT_NE(ag::dropout(x, 0.3f, true, a).to_vector(), ya.to_vector());
  // Another seed, another mask.
  Generator c(43);
  EXPECT_NE(ag::dropout(x, 0.3f, true, c).to_vector(), ya.to_vector());
}

TEST(Dropout, MaskDoesNotDependOnThreadCount) {
  ThreadCountGuard guard;
  const int64_t n = 200003;  // well above the grain, so two threads really split it
  const Tensor x = ag::ones({n});
  ag::set_num_threads(1);
  Generator g1(5);
  const std::vector<float> one = ag::dropout(x, 0.25f, true, g1).to_vector();
  ag::set_num_threads(2);
  Generator g2(5);
  const std::vector<float> two = ag::dropout(x, 0.25f, true, g2).to_vector();
  EXPECT_EQ(one, two);
}

TEST(Dropout, KeepsAboutOneMinusP) {
  const int64_t n = 1 << 20;
  for (float p : {0.1f, 0.5f, 0.8f}) {
    Generator gen(9);
    const Tensor y = ag::dropout(ag::ones({n}), p, true, gen);
    int64_t kept = 0;
    for (float v : y.to_vector()) {
      if (v != 0.0f) {
        ++kept;
        ASSERT_FLOAT_EQ(v, 1.0f / (1.0f - p));
      }
    }
    // The standard deviation of the fraction is sqrt(p (1 - p) / n) < 5e-4; allow ~6 of them.
    EXPECT_NEAR(static_cast<double>(kept) / n, 1.0 - p, 3e-3) << "p " << p;
  }
}

TEST(Dropout, BackwardUsesTheSameMask) {
  Generator gen(11);
  const Tensor x = ag::ones({10, 10}).requires_grad_();
  const Tensor y = ag::dropout(x, 0.5f, true, gen);
  Generator weights(12);
  const Tensor dy = ag::randn({10, 10}, weights);
  y.backward(dy);
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(x.grad().data()[i], y.data()[i] != 0.0f ? dy.data()[i] * 2.0f : 0.0f);
}

TEST(Dropout, Gradcheck) {
  Generator gen;
  Generator values(3);
  const Tensor x = ag::randn({4, 6}, values).requires_grad_();
  // Every call restores the generator, so each draws the same mask.
  auto r = ag::gradcheck(
      [&](const std::vector<Tensor>& in) {
        gen.set_state(42, 0);
        return ag::dropout(in[0], 0.3f, true, gen);
      },
      {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Dropout, POfOneGivesZerosAndZeroGradient) {
  Generator gen(1);
  const Tensor x = ag::ones({3, 4}).requires_grad_();
  const Tensor y = ag::dropout(x, 1.0f, true, gen);
  EXPECT_EQ(y.to_vector(), std::vector<float>(12, 0.0f));
  y.backward(ag::ones({3, 4}));
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>(12, 0.0f));
}

// A batch split over processes (ag::dist): each shard's mask is its rows of the whole batch's mask,
// and every shard leaves the generator where the whole batch does.
TEST(Dropout, ShardsOfABatchDropTheirRowsOfTheWholeBatchsMask) {
  const Tensor x = ag::testing::random_leaf({7, 3, 5}, 11);
  Generator whole_gen(5);
  whole_gen.set_state(5, 8);
  const Generator start = whole_gen;
  const Tensor whole = ag::dropout(x, 0.3f, true, whole_gen);
  for (const auto& [offset, rows] : std::vector<std::pair<int64_t, int64_t>>{{0, 4}, {4, 3}, {2, 1}}) {
    Generator gen = start;
    ag::BatchShardGuard shard(offset, rows, 7);
    const Tensor part = ag::dropout(ag::narrow(x, 0, offset, rows), 0.3f, true, gen);
    EXPECT_EQ(part.to_vector(), ag::narrow(whole, 0, offset, rows).to_vector()) << "rows " << offset << "+" << rows;
    EXPECT_EQ(gen.offset(), whole_gen.offset());
  }
  // The fused attention dropout over (batch, heads, Tq, Tk) weights draws the same way.
  const Tensor q = ag::testing::random_leaf({6, 4, 8}, 12), k = ag::testing::random_leaf({6, 5, 8}, 13);
  const Tensor v = ag::testing::random_leaf({6, 5, 8}, 14);
  Generator a = start;
  const Tensor full = ag::multi_head_attention(q, k, v, 2, 0.5f, {}, 0.25f, true, &a).weights;
  Generator b = start;
  ag::BatchShardGuard shard(4, 2, 6);
  const Tensor part = ag::multi_head_attention(ag::narrow(q, 0, 4, 2), ag::narrow(k, 0, 4, 2), ag::narrow(v, 0, 4, 2),
                                               2, 0.5f, {}, 0.25f, true, &b).weights;
  EXPECT_EQ(part.to_vector(), ag::narrow(full, 0, 4, 2).to_vector());
  EXPECT_EQ(b.offset(), a.offset());
}

TEST(Dropout, ShardGuardsRefuseNestingAndRowsOutsideTheBatch) {
  ag::testing::expect_mentions(error_of([] { ag::BatchShardGuard g(5, 3, 7); }), {"[5, 8)", "batch of 7"});
  ag::BatchShardGuard g(0, 2, 4);
  ag::testing::expect_mentions(error_of([] { ag::BatchShardGuard h(0, 1, 4); }), {"do not nest"});
  Generator gen(1);
  ag::testing::expect_mentions(error_of([&] { ag::dropout(ag::ones({3, 2}), 0.5f, true, gen); }),
                               {"3 rows", "shard of 2 samples"});
}

TEST(Dropout, Errors) {
  Generator gen(1);
  const Tensor x = ag::ones({2, 3});
  for (float p : {-0.1f, 1.5f, NAN}) {
    const std::string m = error_of([&] { ag::dropout(x, p, true, gen); });
    EXPECT_NE(m.find("dropout"), std::string::npos) << m;
    EXPECT_NE(m.find("(2, 3)"), std::string::npos) << m;
  }
  EXPECT_NE(error_of([&] { ag::dropout(x, 2.0f, false, gen); }).find("dropout"), std::string::npos);
}

}  // namespace
