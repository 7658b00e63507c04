// layer_norm: values against a naive double reference, gradcheck with and without weight and bias,
// and errors.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gradcheck.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/layer_norm.h"
#include "attograd/core/random.h"

namespace {

using ag::testing::random_leaf;

using ag::testing::error_of;

using ag::Shape;
using ag::Tensor;

// Naive F.layer_norm over the last d elements of each row, in double.
std::vector<double> naive_layer_norm(const Tensor& x, int64_t d, const Tensor& w, const Tensor& b, double eps) {
  std::vector<double> out(x.numel());
  for (int64_t r = 0; r < x.numel() / d; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < d; ++j) mean += x.data()[r * d + j];
    mean /= d;
    for (int64_t j = 0; j < d; ++j) var += (x.data()[r * d + j] - mean) * (x.data()[r * d + j] - mean);
    var /= d;
    for (int64_t j = 0; j < d; ++j) {
      double v = (x.data()[r * d + j] - mean) / std::sqrt(var + eps);
      if (w.defined()) v *= w.data()[j];
      if (b.defined()) v += b.data()[j];
      out[r * d + j] = v;
    }
  }
  return out;
}

TEST(LayerNorm, MatchesNaive) {
  const Tensor x = random_leaf({2, 3, 4}, 1, 2.0f, 0.5f);
  const Tensor w = random_leaf({4}, 2), b = random_leaf({4}, 3);
  const Tensor w2 = random_leaf({3, 4}, 4), b2 = random_leaf({3, 4}, 5);
  struct Case { Shape normalized; Tensor w, b; };
  const std::vector<Case> cases = {{{4}, w, b}, {{4}, {}, {}}, {{4}, w, {}}, {{3, 4}, w2, b2}, {{2, 3, 4}, {}, {}}};
  for (const Case& c : cases) {
    const Tensor y = ag::layer_norm(x, c.normalized, c.w, c.b, 1e-5f);
    ASSERT_EQ(y.shape(), x.shape());
    const std::vector<double> expected = naive_layer_norm(x, ag::numel(c.normalized), c.w, c.b, 1e-5);
    for (int64_t i = 0; i < x.numel(); ++i)
      EXPECT_NEAR(y.data()[i], expected[i], 1e-5 * (1 + std::fabs(expected[i]))) << ag::to_string(c.normalized) << " " << i;
  }
}

TEST(LayerNorm, LargeOffsetIsStable) {
  // mean 1000, std 1: a one-pass variance (E[x^2] - E[x]^2) in float would lose most digits here.
  const Tensor x = random_leaf({8, 16}, 6, 1.0f, 1000.0f);
  const Tensor y = ag::layer_norm(x, {16});
  const std::vector<double> expected = naive_layer_norm(x, 16, {}, {}, 1e-5);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(y.data()[i], expected[i], 1e-4);
}

TEST(LayerNorm, Gradcheck) {
  const Tensor x = random_leaf({2, 3, 5}, 7);
  const Tensor w = random_leaf({5}, 8, 0.5f, 1.0f), b = random_leaf({5}, 9);
  auto r = ag::gradcheck([](const std::vector<Tensor>& in) { return ag::layer_norm(in[0], {5}, in[1], in[2]); },
                         {x, w, b});
  EXPECT_TRUE(r.ok) << "with weight and bias: " << r.message;
  auto r2 = ag::gradcheck([](const std::vector<Tensor>& in) { return ag::layer_norm(in[0], {5}); }, {x});
  EXPECT_TRUE(r2.ok) << "without weight and bias: " << r2.message;
  const Tensor w2 = random_leaf({3, 5}, 10, 0.5f, 1.0f);
  auto r3 = ag::gradcheck([](const std::vector<Tensor>& in) { return ag::layer_norm(in[0], {3, 5}, in[1]); }, {x, w2});
  EXPECT_TRUE(r3.ok) << "over two dims, weight only: " << r3.message;
}

TEST(LayerNorm, GradientOfWeightAndBiasOnly) {
  // x does not require grad: only weight and bias get gradients, and they sum over the rows.
  ag::Generator gen(12);
  const Tensor x = ag::randn({6, 4}, gen);
  const Tensor w = ag::ones({4}).requires_grad_(), b = ag::zeros({4}).requires_grad_();
  const Tensor y = ag::layer_norm(x, {4}, w, b);
  y.backward(ag::ones({6, 4}));
  for (int64_t j = 0; j < 4; ++j) {
    double dw = 0;
    for (int64_t r = 0; r < 6; ++r) dw += y.at({r, j});  // y = xhat when w = 1, b = 0
    EXPECT_NEAR(w.grad().at({j}), dw, 1e-5);
    EXPECT_FLOAT_EQ(b.grad().at({j}), 6.0f);
  }
}

TEST(LayerNorm, Errors) {
  const Tensor x = ag::zeros({2, 3});
  std::string m = error_of([&] { ag::layer_norm(x, {4}); });
  EXPECT_NE(m.find("layer_norm"), std::string::npos) << m;
  EXPECT_NE(m.find("(4)"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 3)"), std::string::npos) << m;
  m = error_of([&] { ag::layer_norm(x, {3}, ag::ones({4})); });
  EXPECT_NE(m.find("layer_norm"), std::string::npos) << m;
  EXPECT_NE(m.find("weight (4)"), std::string::npos) << m;
  m = error_of([&] { ag::layer_norm(x, {3}, ag::ones({3}), ag::ones({2, 3})); });
  EXPECT_NE(m.find("bias (2, 3)"), std::string::npos) << m;
  m = error_of([&] { ag::layer_norm(x, {1, 2, 3}); });
  EXPECT_NE(m.find("layer_norm"), std::string::npos) << m;
  EXPECT_NE(m.find("(1, 2, 3)"), std::string::npos) << m;
  m = error_of([&] { ag::layer_norm(x, {}); });
  EXPECT_NE(m.find("layer_norm"), std::string::npos) << m;
}

}  // namespace
