// ag::dist: the collectives and the gradient reducer. Every test runs alone (a world of one, where
// the collectives are the identity) and under `mpirun -np 2` (ctest dist_two_ranks), where each
// rank checks the result against what it computes for every rank itself. Collectives must be
// matched on every rank, so checks are EXPECTs, never an early return between two collectives.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attograd/core/core.h"
#include "attograd/dist/dist.h"
#include "attograd/dist/gradient_reducer.h"
#include "tests/test_util.h"

namespace {

using ag::testing::error_of;
using ag::testing::expect_mentions;

TEST(DistShard, SplitsAsEvenlyAsItGoesWithTheFirstRanksTakingTheRest) {
  EXPECT_EQ(ag::dist::shard(5, 0, 2).offset, 0);
  EXPECT_EQ(ag::dist::shard(5, 0, 2).rows, 3);
  EXPECT_EQ(ag::dist::shard(5, 1, 2).offset, 3);
  EXPECT_EQ(ag::dist::shard(5, 1, 2).rows, 2);
  int64_t next = 0;
  for (int r = 0; r < 7; ++r) {  // 30 over 7: 4 each, and one more for the first 30 % 7 = 2
    const ag::dist::Shard s = ag::dist::shard(30, r, 7);
    EXPECT_EQ(s.offset, next);
    EXPECT_EQ(s.rows, r < 2 ? 5 : 4);
    next += s.rows;
  }
  EXPECT_EQ(next, 30);
  expect_mentions(error_of([] { ag::dist::shard(1, 0, 2); }), {"1 items", "2 ranks"});
}

TEST(DistCollectives, AllreduceOfAKnownTensorIsExact) {
  const int r = ag::dist::rank(), n = ag::dist::world_size();
  // Small integers times (rank + 1): every partial sum is exact in float, so is the result.
  std::vector<float> f(1000);
  std::vector<double> d(3);
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(i % 97) * static_cast<float>(r + 1);
  for (size_t i = 0; i < d.size(); ++i) d[i] = 0.25 * static_cast<double>(i) * (r + 1);
  ag::dist::allreduce_sum(f.data(), static_cast<int64_t>(f.size()));
  ag::dist::allreduce_sum(d.data(), static_cast<int64_t>(d.size()));
  const double ranks = n * (n + 1) / 2.0;  // sum of (rank + 1)
  for (size_t i = 0; i < f.size(); ++i) EXPECT_EQ(f[i], static_cast<float>((i % 97) * ranks)) << i;
  for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i], 0.25 * static_cast<double>(i) * ranks) << i;
  EXPECT_EQ(ag::dist::any(r == n - 1), true);  // one rank's flag reaches all
  EXPECT_EQ(ag::dist::any(false), false);

  std::vector<float> g(300, static_cast<float>(r + 1));
  ag::dist::Request request = ag::dist::iallreduce_sum(g.data(), static_cast<int64_t>(g.size()));
  while (!request.test()) {
  }
  for (float v : g) EXPECT_EQ(v, static_cast<float>(ranks));
}

TEST(DistCollectives, BroadcastGivesEveryRankRootsTensorsAndRefusesOtherShapes) {
  const int r = ag::dist::rank();
  ag::NamedTensors tensors = {{"w", ag::full({2, 3}, static_cast<float>(r + 1)).requires_grad_()},
                              {"b", ag::full({4}, static_cast<float>(10 * r)).requires_grad_()}};
  ag::dist::broadcast(tensors);
  for (float v : tensors[0].second.to_vector()) EXPECT_EQ(v, 1.0f);
  for (float v : tensors[1].second.to_vector()) EXPECT_EQ(v, 0.0f);
  // A rank whose model differs: every rank raises, none waits for data that never comes.
  ag::NamedTensors odd = {{"w", ag::zeros({2, r == 1 ? 4 : 3})}};
  if (ag::dist::world_size() > 1)
    expect_mentions(error_of([&] { ag::dist::broadcast(odd); }), {"differ in names or shapes", "same model"});
}

// A model where parameter `only_rank1` is used by rank 1 alone (a branch not taken elsewhere).
struct Toy {
  ag::Tensor w1 = ag::testing::random_leaf({4, 3}, 1), b1 = ag::testing::random_leaf({3}, 2);
  ag::Tensor w2 = ag::testing::random_leaf({3, 2}, 3), only_rank1 = ag::testing::random_leaf({2}, 4);
  ag::NamedTensors params() const { return {{"w1", w1}, {"b1", b1}, {"w2", w2}, {"only_rank1", only_rank1}}; }
  // The mean loss of rank r's `rows` examples.
  ag::Tensor loss(int r, int64_t rows, int call = 0) const {
    ag::Tensor x = ag::testing::random_leaf({rows, 4}, 100 + 10 * r + call).detach();
    ag::Tensor y = ag::matmul(ag::tanh(ag::matmul(x, w1) + b1), w2);
    if (r == 1) y = y * only_rank1;
    return ag::mean(y * y);
  }
  void zero_grad() const {
    for (const auto& [name, p] : params()) p.zero_grad();
  }
};

// Rank r holds 3 + r examples: its share of the global batch is its scale.
double share(int r, int n) { return (3.0 + r) / (3.0 * n + n * (n - 1) / 2.0); }

// sum_r scale_r * grad of rank r's losses (calls 0..calls-1), computed alone: what the reducer must give.
std::vector<std::vector<float>> expected_grads(const Toy& toy, int n, int calls) {
  std::vector<std::vector<float>> sums(4);
  for (int r = 0; r < n; ++r) {
    toy.zero_grad();
    for (int c = 0; c < calls; ++c) toy.loss(r, 3 + r, c).backward();
    const ag::NamedTensors p = toy.params();
    for (size_t k = 0; k < p.size(); ++k) {
      const ag::Tensor g = p[k].second.grad();
      sums[k].resize(static_cast<size_t>(p[k].second.numel()), 0.0f);
      if (!g.defined()) continue;
      for (size_t i = 0; i < sums[k].size(); ++i) sums[k][i] += g.data()[i] * static_cast<float>(share(r, n));
    }
  }
  toy.zero_grad();
  return sums;
}

// The float32 error of a sum over n ranks of products: a few ulps of the largest term.
void expect_grads(const Toy& toy, const std::vector<std::vector<float>>& expected) {
  const ag::NamedTensors p = toy.params();
  for (size_t k = 0; k < p.size(); ++k) {
    const ag::Tensor g = p[k].second.grad();
    ASSERT_TRUE(g.defined() || ag::dist::world_size() == 1) << p[k].first;
    if (!g.defined()) continue;
    const float tolerance = 4 * ag::dist::world_size() * 1.2e-7f;
    for (size_t i = 0; i < expected[k].size(); ++i)
      EXPECT_NEAR(g.data()[i], expected[k][i], tolerance * (std::fabs(expected[k][i]) + 1e-6f)) << p[k].first << " " << i;
  }
}

TEST(GradientReducer, GivesTheShareWeightedSumOfEveryRanksGradientWithUnusedParametersAsZeros) {
  const int r = ag::dist::rank(), n = ag::dist::world_size();
  Toy toy;
  const auto expected = expected_grads(toy, n, 1);
  ag::dist::GradientReducer reducer(toy.params(), /*bucket_bytes=*/4);  // a bucket per tensor
  EXPECT_EQ(reducer.bucket_count(), 4);
  reducer.backward(toy.loss(r, 3 + r), share(r, n));
  expect_grads(toy, expected);
  EXPECT_EQ(reducer.stats().steps, n > 1 ? 1 : 0);
}

TEST(GradientReducer, AverageGradientsIsTheMeanOfEveryRanksGradient) {
  const int r = ag::dist::rank(), n = ag::dist::world_size();
  Toy toy;
  std::vector<std::vector<float>> mean(4);
  for (int q = 0; q < n; ++q) {  // every rank's gradient, computed here
    toy.zero_grad();
    toy.loss(q, 4).backward();
    const ag::NamedTensors p = toy.params();
    for (size_t k = 0; k < p.size(); ++k) {
      mean[k].resize(static_cast<size_t>(p[k].second.numel()), 0.0f);
      if (const ag::Tensor g = p[k].second.grad(); g.defined())
        for (size_t i = 0; i < mean[k].size(); ++i) mean[k][i] += g.data()[i] / static_cast<float>(n);
    }
  }
  toy.zero_grad();
  toy.loss(r, 4).backward();
  ag::dist::average_gradients(toy.params());
  const ag::NamedTensors p = toy.params();
  for (size_t k = 0; k < p.size(); ++k) {
    if (n == 1 && !p[k].second.grad().defined()) continue;  // alone, only_rank1 gets none
    for (size_t i = 0; i < mean[k].size(); ++i)
      EXPECT_NEAR(p[k].second.grad().data()[i], mean[k][i], 8 * 1.2e-7f * (std::fabs(mean[k][i]) + 1e-6f)) << p[k].first;
  }
}

TEST(GradientReducer, NoSyncAccumulatesLocallyAndTheNextBackwardReducesAll) {
  const int r = ag::dist::rank(), n = ag::dist::world_size();
  Toy toy;
  const auto expected = expected_grads(toy, n, 3);
  ag::dist::GradientReducer reducer(toy.params());
  {
    ag::dist::GradientReducer::NoSync accumulate(reducer);
    reducer.backward(toy.loss(r, 3 + r, 0));
    reducer.backward(toy.loss(r, 3 + r, 1));
  }
  // The scale applies to everything accumulated: here each call's loss is this rank's mean.
  reducer.backward(toy.loss(r, 3 + r, 2), share(r, n));
  expect_grads(toy, expected);
}

}  // namespace
