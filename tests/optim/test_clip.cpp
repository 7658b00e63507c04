// clip_grad_norm_ and clip_grad_value_: the norm against hand computations, scaling only above
// max_norm, thread-count independence, and a non-finite norm refused without touching anything.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/reduce.h"
#include "attograd/core/random.h"
#include "attograd/core/threads.h"
#include "attograd/optim/clip.h"
#include "tests/test_util.h"

namespace {

using ag::Tensor;
using ag::nn::NamedTensors;
using ag::testing::error_of;
using ag::testing::expect_mentions;

// A parameter whose gradient is exactly `grad` (d/dp sum(p * g) = g).
Tensor param_with_grad(const Tensor& grad) {
  const Tensor p = ag::ones(grad.shape()).requires_grad_();
  ag::sum(p * grad).backward();
  return p;
}

struct ThreadCountGuard {
  int saved = ag::get_num_threads();
  ~ThreadCountGuard() { ag::set_num_threads(saved); }
};

TEST(ClipGradNorm, ReturnsTheNormAndScalesAboveMaxNorm) {
  // |(3, 4, 12)| = 13.
  const Tensor a = param_with_grad(ag::from_data({3, 4}, {2})), b = param_with_grad(ag::from_data({12}, {1, 1}));
  const Tensor unused = ag::ones({3}).requires_grad_();  // no gradient: ignored
  const double total = ag::optim::clip_grad_norm_(NamedTensors{{"a", a}, {"unused", unused}, {"b", b}}, 6.5);
  EXPECT_DOUBLE_EQ(total, 13.0);
  const float coef = static_cast<float>(6.5 / (13.0 + 1e-6));
  EXPECT_FLOAT_EQ(a.grad().at({0}), 3 * coef);
  EXPECT_FLOAT_EQ(a.grad().at({1}), 4 * coef);
  EXPECT_FLOAT_EQ(b.grad().at({0, 0}), 12 * coef);
  EXPECT_FALSE(unused.grad().defined());
}

TEST(ClipGradNorm, LeavesGradientsBelowMaxNormUntouched) {
  const Tensor a = param_with_grad(ag::from_data({0.3f, -0.4f}, {2}));
  const double total = ag::optim::clip_grad_norm_(std::vector<Tensor>{a}, 0.5 + 1e-5);
  EXPECT_NEAR(total, 0.5, 1e-7);
  EXPECT_EQ(a.grad().to_vector(), std::vector<float>({0.3f, -0.4f}));
}

TEST(ClipGradNorm, OtherNormTypes) {
  const Tensor a = param_with_grad(ag::from_data({1, -5, 2}, {3})), b = param_with_grad(ag::from_data({-3}, {1}));
  EXPECT_DOUBLE_EQ(ag::optim::clip_grad_norm_(std::vector<Tensor>{a, b}, 100, ag::optim::inf_norm), 5.0);
  EXPECT_DOUBLE_EQ(ag::optim::clip_grad_norm_(std::vector<Tensor>{a, b}, 100, 1.0), 11.0);
  EXPECT_NEAR(ag::optim::clip_grad_norm_(std::vector<Tensor>{a, b}, 100, 3.0), std::cbrt(1.0 + 125 + 8 + 27), 1e-12);
  // inf norm 5, max_norm 1: scaled by 1 / (5 + 1e-6).
  ag::optim::clip_grad_norm_(std::vector<Tensor>{a, b}, 1.0, ag::optim::inf_norm);
  EXPECT_FLOAT_EQ(a.grad().at({1}), static_cast<float>(-5 / (5 + 1e-6)));
}

TEST(ClipGradNorm, AccumulatesInDoubleIndependentlyOfThreads) {
  ThreadCountGuard guard;
  ag::Generator gen(5);
  const Tensor g = ag::randn({300001}, gen);
  double expected = 0;
  for (float v : g.to_vector()) expected += static_cast<double>(v) * v;
  expected = std::sqrt(expected);
  std::vector<double> totals;
  for (int threads : {1, 2, 3}) {
    ag::set_num_threads(threads);
    totals.push_back(ag::optim::clip_grad_norm_(std::vector<Tensor>{param_with_grad(g)}, 1e9));
  }
  EXPECT_NEAR(totals[0], expected, 1e-9 * expected);
  EXPECT_EQ(totals[0], totals[1]);
  EXPECT_EQ(totals[0], totals[2]);
}

TEST(ClipGradNorm, NonFiniteNormRaisesAndChangesNothing) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    const Tensor a = param_with_grad(ag::from_data({30, 40}, {2}));
    const Tensor b = param_with_grad(ag::from_data({1, bad, 2}, {3}));
    const std::vector<float> grad_a = a.grad().to_vector(), grad_b = b.grad().to_vector();
    const std::vector<float> value_a = a.to_vector(), value_b = b.to_vector();
    const std::string message =
        error_of([&] { ag::optim::clip_grad_norm_(NamedTensors{{"enc.weight", a}, {"dec.bias", b}}, 1.0); });
    expect_mentions(message, {"clip_grad_norm_", "'dec.bias'"});
    auto same = [](const std::vector<float>& x, const std::vector<float>& y) {
      return x.size() == y.size() && std::memcmp(x.data(), y.data(), sizeof(float) * x.size()) == 0;
    };
    EXPECT_TRUE(same(a.grad().to_vector(), grad_a));
    EXPECT_TRUE(same(b.grad().to_vector(), grad_b));
    EXPECT_TRUE(same(a.to_vector(), value_a));
    EXPECT_TRUE(same(b.to_vector(), value_b));
  }
}

TEST(ClipGradNorm, RejectsBadArguments) {
  const Tensor a = param_with_grad(ag::ones({2}));
  expect_mentions(error_of([&] { ag::optim::clip_grad_norm_(std::vector<Tensor>{a}, 1.0, 0.0); }), {"norm_type"});
  expect_mentions(error_of([&] { ag::optim::clip_grad_norm_(std::vector<Tensor>{a}, -1.0); }), {"max_norm"});
}

TEST(ClipGradValue, ClampsEveryElement) {
  const Tensor a = param_with_grad(ag::from_data({-3, -0.5f, 0, 0.25f, 7}, {5}));
  ag::optim::clip_grad_value_(std::vector<Tensor>{a}, 0.5);
  EXPECT_EQ(a.grad().to_vector(), std::vector<float>({-0.5f, -0.5f, 0, 0.25f, 0.5f}));
  expect_mentions(error_of([&] { ag::optim::clip_grad_value_(std::vector<Tensor>{a}, -1); }), {"clip_value"});
}

}  // namespace
