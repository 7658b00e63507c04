// Numerical stability: softmax, log_softmax, cross_entropy and BCE-with-logits at logits of 0, +-20,
// +-100 and +-1e4 are finite and equal to the exact value (computed here in long double), and a
// fully masked softmax row gives zero weights and finite gradients rather than NaN.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/gradcheck.h"
#include "attograd/core/ops/index.h"
#include "attograd/core/ops/loss.h"
#include "attograd/core/ops/softmax.h"
#include "attograd/core/random.h"

namespace {

using ag::IntTensor;
using ag::Reduction;
using ag::Tensor;
using Real = long double;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Rows of logits from mild to extreme: equal, spread by +-20, +-100 and +-1e4, and all-equal extremes.
const std::vector<std::vector<float>> kRows = {
    {0, 0, 0},           {20, -20, 0},        {-20, 0, 20},     {100, -100, 0},    {0, 100, -100},
    {1e4f, -1e4f, 0},    {-1e4f, 0, 1e4f},    {1e4f, 1e4f, 1e4f}, {-1e4f, -1e4f, -1e4f}, {100, 100, -1e4f}};

Tensor rows_tensor() {
  std::vector<float> flat;
  for (const auto& r : kRows) flat.insert(flat.end(), r.begin(), r.end());
  return ag::from_data(flat, {static_cast<int64_t>(kRows.size()), 3});
}

// log softmax of one row, exactly: the log-sum-exp identity, evaluated in long double.
std::vector<Real> exact_log_softmax(const std::vector<float>& row) {
  Real m = row[0];
  for (float v : row) m = std::max<Real>(m, v);
  Real total = 0;
  for (float v : row) total += std::exp(static_cast<Real>(v) - m);
  std::vector<Real> out;
  for (float v : row) out.push_back(static_cast<Real>(v) - m - std::log(total));
  return out;
}

// |actual - expected| within float32 rounding of the expected value.
void expect_close(float actual, Real expected, const char* what) {
  ASSERT_TRUE(std::isfinite(actual)) << what << ": " << actual;
  EXPECT_LE(std::fabs(static_cast<Real>(actual) - expected), 1e-6L * std::fabs(expected) + 1e-12L)
      << what << ": got " << actual << ", exact " << static_cast<double>(expected);
}

void expect_all_finite(const Tensor& t, const char* what) {
  for (float v : t.to_vector()) ASSERT_TRUE(std::isfinite(v)) << what << " holds " << v;
}

TEST(Stability, SoftmaxAndLogSoftmaxAtExtremeLogits) {
  const Tensor x = rows_tensor().requires_grad_();
  const Tensor p = ag::softmax(x, 1), lp = ag::log_softmax(x, 1);
  for (size_t r = 0; r < kRows.size(); ++r) {
    const std::vector<Real> exact = exact_log_softmax(kRows[r]);
    for (int64_t j = 0; j < 3; ++j) {
      expect_close(p.at({static_cast<int64_t>(r), j}), std::exp(exact[j]), "softmax");
      expect_close(lp.at({static_cast<int64_t>(r), j}), exact[j], "log_softmax");
    }
  }
  ag::Generator gen(1);
  const Tensor w = ag::randn(x.shape(), gen);
  p.backward(w);
  expect_all_finite(x.grad(), "softmax gradient");
  x.zero_grad();
  lp.backward(w);
  expect_all_finite(x.grad(), "log_softmax gradient");
}

TEST(Stability, CrossEntropyAtExtremeLogits) {
  const Tensor x = rows_tensor().requires_grad_();
  const int64_t rows = static_cast<int64_t>(kRows.size());
  for (float eps : {0.0f, 0.1f}) {
    for (int64_t t = 0; t < 3; ++t) {
      const IntTensor targets(std::vector<int64_t>(rows, t), {rows});
      const Tensor loss = ag::cross_entropy(x, targets, -100, eps, Reduction::None);
      for (int64_t r = 0; r < rows; ++r) {
        const std::vector<Real> lp = exact_log_softmax(kRows[r]);
        const Real exact = (1 - static_cast<Real>(eps)) * -lp[t] + static_cast<Real>(eps) * -(lp[0] + lp[1] + lp[2]) / 3;
        expect_close(loss.at({r}), exact, "cross_entropy");
      }
      loss.backward(ag::ones({rows}));
      // dx = softmax - smoothed one-hot, exactly.
      for (int64_t r = 0; r < rows; ++r) {
        const std::vector<Real> lp = exact_log_softmax(kRows[r]);
        for (int64_t j = 0; j < 3; ++j) {
          const Real target = (j == t ? 1 - static_cast<Real>(eps) : 0) + static_cast<Real>(eps) / 3;
          EXPECT_NEAR(x.grad().at({r, j}), static_cast<double>(std::exp(lp[j]) - target), 1e-6) << r << " " << j;
        }
      }
      x.zero_grad();
    }
  }
}

TEST(Stability, BceWithLogitsAtExtremeLogits) {
  const std::vector<float> xs = {0, 20, -20, 100, -100, 1e4f, -1e4f};
  const std::vector<float> ts = {0, 0.25f, 1};
  // softplus(z) = log(1 + e^z), evaluated without overflow; loss = t softplus(-x) + (1 - t) softplus(x).
  auto softplus = [](Real z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); };
  std::vector<float> x_flat, t_flat;
  for (float x : xs)
    for (float t : ts) x_flat.push_back(x), t_flat.push_back(t);
  const int64_t n = static_cast<int64_t>(x_flat.size());
  const Tensor x = ag::from_data(x_flat, {n}).requires_grad_();
  const Tensor t = ag::from_data(t_flat, {n});
  const Tensor loss = ag::binary_cross_entropy_with_logits(x, t, Reduction::None);
  for (int64_t i = 0; i < n; ++i) {
    const Real xi = x_flat[i], ti = t_flat[i];
    expect_close(loss.at({i}), ti * softplus(-xi) + (1 - ti) * softplus(xi), "binary_cross_entropy_with_logits");
  }
  loss.backward(ag::ones({n}));
  for (int64_t i = 0; i < n; ++i) {
    const Real sig = 1 / (1 + std::exp(-static_cast<Real>(x_flat[i])));
    EXPECT_NEAR(x.grad().at({i}), static_cast<double>(sig - t_flat[i]), 1e-6) << "x " << x_flat[i];
  }
  // The mean is finite too.
  EXPECT_TRUE(std::isfinite(ag::binary_cross_entropy_with_logits(x, t).item()));
}

TEST(Stability, FullyMaskedRowGivesZeroWeightsAndFiniteGradients) {
  // Row 0 is all -inf (fully masked); row 1 is ordinary.
  const Tensor x = ag::from_data({-kInf, -kInf, -kInf, 1, 2, 3}, {2, 3}).requires_grad_();
  ag::Generator gen(2);
  const Tensor w = ag::randn({2, 3}, gen);

  const Tensor p = ag::softmax(x, 1);
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(p.at({0, j}), 0.0f);
  EXPECT_NEAR(p.at({1, 0}) + p.at({1, 1}) + p.at({1, 2}), 1.0f, 1e-6f);
  p.backward(w);
  expect_all_finite(x.grad(), "softmax gradient");
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(x.grad().at({0, j}), 0.0f);
  x.zero_grad();

  // log_softmax: -inf values (the log of the zero weights) with a zero gradient.
  const Tensor lp = ag::log_softmax(x, 1);
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(lp.at({0, j}), -kInf);
  lp.backward(w);
  expect_all_finite(x.grad(), "log_softmax gradient");
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(x.grad().at({0, j}), 0.0f);
}

TEST(Stability, MaskedFillWithMinusInfThenSoftmax) {
  // Attention-style masking: row 0 fully masked, row 1 masked at columns 0 and 3.
  const IntTensor mask({1, 1, 1, 1, 1, 0, 0, 1}, {2, 4});
  ag::Generator gen(3);
  const Tensor x = ag::randn({2, 4}, gen).requires_grad_();
  const Tensor p = ag::softmax(ag::masked_fill(x, mask, -kInf), -1);
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(p.at({0, j}), 0.0f);
  EXPECT_EQ(p.at({1, 0}), 0.0f);
  EXPECT_EQ(p.at({1, 3}), 0.0f);
  const double e1 = std::exp(static_cast<double>(x.at({1, 1}))), e2 = std::exp(static_cast<double>(x.at({1, 2})));
  EXPECT_NEAR(p.at({1, 1}), e1 / (e1 + e2), 1e-6);
  EXPECT_NEAR(p.at({1, 2}), e2 / (e1 + e2), 1e-6);

  const Tensor w = ag::randn({2, 4}, gen);
  p.backward(w);
  expect_all_finite(x.grad(), "gradient through masked softmax");
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(x.grad().at({0, j}), 0.0f);
  EXPECT_EQ(x.grad().at({1, 0}), 0.0f);
  EXPECT_EQ(x.grad().at({1, 3}), 0.0f);
  x.zero_grad();

  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::softmax(ag::masked_fill(in[0], mask, -kInf), 1); },
                         {x});
  EXPECT_TRUE(r.ok) << r.message;

  // The same along a middle dim: x (2, 4, 1), softmax over dim 1.
  const Tensor x3 = x.detach().reshape({2, 4, 1}).requires_grad_();
  const Tensor p3 = ag::softmax(ag::masked_fill(x3, mask.reshape({2, 4, 1}), -kInf), 1);
  EXPECT_EQ(p3.to_vector(), p.to_vector());
  auto r3 = ag::gradcheck(
      [&](const std::vector<Tensor>& in) { return ag::softmax(ag::masked_fill(in[0], mask.reshape({2, 4, 1}), -kInf), 1); },
      {x3});
  EXPECT_TRUE(r3.ok) << r3.message;
}

}  // namespace
