// cross_entropy, binary_cross_entropy_with_logits, mse_loss: values against straightforward double
// reimplementations for every reduction, gradcheck, and errors.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gradcheck.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/index.h"
#include "attograd/core/ops/loss.h"
#include "attograd/core/ops/softmax.h"
#include "attograd/core/random.h"

namespace {

using ag::testing::random_leaf;

using ag::testing::error_of;

using ag::IntTensor;
using ag::Reduction;
using ag::Shape;
using ag::Tensor;

// torch's cross-entropy, one row at a time, in double: loss_i = (1 - eps) * -log p[t] + eps * mean_c(-log p[c]),
// 0 for an ignored target. Returns the per-row losses and the number of targets not ignored.
std::pair<std::vector<double>, int64_t> naive_cross_entropy(const Tensor& logits, const IntTensor& targets,
                                                            int64_t ignore_index, double eps) {
  const int64_t c = logits.shape().back(), rows = targets.numel();
  std::vector<double> loss(rows, 0.0);
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = targets.data()[r];
    if (t == ignore_index) continue;
    ++count;
    double total = 0;
    for (int64_t j = 0; j < c; ++j) total += std::exp(static_cast<double>(logits.data()[r * c + j]));
    auto neg_log_p = [&](int64_t j) { return std::log(total) - logits.data()[r * c + j]; };
    double smooth = 0;
    for (int64_t j = 0; j < c; ++j) smooth += neg_log_p(j);
    loss[r] = (1 - eps) * neg_log_p(t) + eps * smooth / c;
  }
  return {loss, count};
}

double total_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

// ---- cross_entropy ------------------------------------------------------------------------------

TEST(CrossEntropy, MatchesNaiveForEveryReduction) {
  const Tensor logits = random_leaf({3, 4, 6}, 1, 2.0f);  // classes last
  const IntTensor targets({0, 5, -100, 2, 3, 3, 1, -100, 4, 0, 5, 2}, {3, 4});
  for (float eps : {0.0f, 0.1f, 0.35f}) {
    const auto [expected, count] = naive_cross_entropy(logits, targets, -100, eps);
    ASSERT_EQ(count, 10);
    const Tensor none = ag::cross_entropy(logits, targets, -100, eps, Reduction::None);
    ASSERT_EQ(none.shape(), Shape({3, 4}));
    for (int64_t i = 0; i < 12; ++i) EXPECT_NEAR(none.data()[i], expected[i], 1e-5 * (1 + expected[i])) << eps << " " << i;
    const Tensor sum = ag::cross_entropy(logits, targets, -100, eps, Reduction::Sum);
    EXPECT_EQ(sum.shape(), Shape({}));
    EXPECT_NEAR(sum.item(), total_of(expected), 1e-4);
    const Tensor mean = ag::cross_entropy(logits, targets, -100, eps);  // Mean is the default
    EXPECT_EQ(mean.shape(), Shape({}));
    EXPECT_NEAR(mean.item(), total_of(expected) / count, 1e-5);
  }
}

TEST(CrossEntropy, CustomIgnoreIndexAndTwoDimLogits) {
  const Tensor logits = random_leaf({5, 3}, 2);
  const IntTensor targets({0, 2, 0, 1, 2}, {5});
  const auto [expected, count] = naive_cross_entropy(logits, targets, /*ignore_index=*/0, 0.0);
  EXPECT_EQ(count, 3);
  EXPECT_NEAR(ag::cross_entropy(logits, targets, 0).item(), total_of(expected) / 3, 1e-5);
}

TEST(CrossEntropy, OneDimLogitsWithScalarTarget) {
  const Tensor logits = ag::from_data({1.0f, 2.0f, 3.0f}, {3});
  const double expected = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 2.0;
  EXPECT_NEAR(ag::cross_entropy(logits, IntTensor({1}, Shape{})).item(), expected, 1e-6);
  EXPECT_EQ(ag::cross_entropy(logits, IntTensor({1}, Shape{}), -100, 0, Reduction::None).shape(), Shape({}));
}

TEST(CrossEntropy, EqualsNegativeLogSoftmaxGathered) {
  const Tensor logits = random_leaf({2, 3, 7}, 3);
  const IntTensor targets({6, 0, 3, 2, 2, 5}, {2, 3});
  const Tensor direct = ag::cross_entropy(logits, targets, -100, 0, Reduction::None);
  const Tensor composed = -ag::gather(ag::log_softmax(logits, -1), targets.reshape({2, 3, 1})).reshape({2, 3});
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(direct.data()[i], composed.data()[i], 1e-6);
}

TEST(CrossEntropy, AllTargetsIgnoredGivesZeroLossAndGradient) {
  const Tensor logits = random_leaf({2, 4}, 4);
  const IntTensor targets({-100, -100}, {2});
  const Tensor loss = ag::cross_entropy(logits, targets, -100, 0.1f);
  EXPECT_EQ(loss.item(), 0.0f);  // torch gives NaN here; see loss.h
  loss.backward();
  EXPECT_EQ(logits.grad().to_vector(), std::vector<float>(8, 0.0f));
}

TEST(CrossEntropy, Gradcheck) {
  const Tensor logits = random_leaf({2, 3, 5}, 5);
  const IntTensor targets({4, 0, -100, 2, 2, 1}, {2, 3});
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    for (float eps : {0.0f, 0.2f}) {
      auto r = ag::gradcheck(
          [&](const std::vector<Tensor>& in) { return ag::cross_entropy(in[0], targets, -100, eps, red); }, {logits});
      EXPECT_TRUE(r.ok) << "reduction " << static_cast<int>(red) << " eps " << eps << ": " << r.message;
    }
  }
}

TEST(CrossEntropy, GradientIsSoftmaxMinusSmoothedOneHotOverCount) {
  const Tensor logits = random_leaf({3, 4}, 6);
  const IntTensor targets({1, -100, 3}, {3});
  const float eps = 0.2f;
  ag::cross_entropy(logits, targets, -100, eps).backward();
  const Tensor p = ag::softmax(logits.detach(), 1);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t j = 0; j < 4; ++j) {
      const int64_t t = targets.at({r});
      const double expected =
          t == -100 ? 0.0 : (p.at({r, j}) - (j == t ? 1 - eps : 0.0f) - eps / 4.0) / 2.0;  // 2 targets count
      EXPECT_NEAR(logits.grad().at({r, j}), expected, 1e-6);
    }
}

TEST(CrossEntropy, Errors) {
  const Tensor logits = ag::zeros({4, 5});
  std::string m = error_of([&] { ag::cross_entropy(logits, IntTensor(Shape{3})); });
  EXPECT_NE(m.find("cross_entropy"), std::string::npos) << m;
  EXPECT_NE(m.find("(4, 5)"), std::string::npos) << m;
  EXPECT_NE(m.find("(3)"), std::string::npos) << m;
  m = error_of([&] { ag::cross_entropy(logits, IntTensor({0, 5, 1, 2}, {4})); });
  EXPECT_NE(m.find("cross_entropy"), std::string::npos) << m;
  EXPECT_NE(m.find("target 5"), std::string::npos) << m;
  EXPECT_NE(m.find("position (1)"), std::string::npos) << m;
  EXPECT_NE(m.find("5 classes"), std::string::npos) << m;
  m = error_of([&] { ag::cross_entropy(ag::zeros({2, 2, 3}), IntTensor({0, 1, -1, 2}, {2, 2})); });
  EXPECT_NE(m.find("target -1"), std::string::npos) << m;
  EXPECT_NE(m.find("position (1, 0)"), std::string::npos) << m;
  m = error_of([&] { ag::cross_entropy(logits, IntTensor(Shape{4}), -100, 1.5f); });
  EXPECT_NE(m.find("label_smoothing"), std::string::npos) << m;
  m = error_of([&] { ag::cross_entropy(ag::scalar(1), IntTensor(Shape{})); });
  EXPECT_NE(m.find("cross_entropy"), std::string::npos) << m;
  EXPECT_NE(m.find("()"), std::string::npos) << m;
}

// ---- binary_cross_entropy_with_logits -----------------------------------------------------------

TEST(BceWithLogits, MatchesNaiveForEveryReduction) {
  const Tensor x = random_leaf({3, 4}, 7, 2.0f);
  ag::Generator gen(8);
  const Tensor t = ag::rand({3, 4}, gen);
  std::vector<double> expected;
  for (int64_t i = 0; i < 12; ++i) {  // -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), fine for |x| small
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(x.data()[i])));
    expected.push_back(-(t.data()[i] * std::log(s) + (1 - t.data()[i]) * std::log(1 - s)));
  }
  const Tensor none = ag::binary_cross_entropy_with_logits(x, t, Reduction::None);
  ASSERT_EQ(none.shape(), Shape({3, 4}));
  for (int64_t i = 0; i < 12; ++i) EXPECT_NEAR(none.data()[i], expected[i], 1e-5 * (1 + expected[i]));
  EXPECT_NEAR(ag::binary_cross_entropy_with_logits(x, t, Reduction::Sum).item(), total_of(expected), 1e-4);
  EXPECT_NEAR(ag::binary_cross_entropy_with_logits(x, t).item(), total_of(expected) / 12, 1e-5);
}

TEST(BceWithLogits, Gradcheck) {
  const Tensor x = random_leaf({2, 3}, 9, 2.0f);
  ag::Generator gen(10);
  const Tensor t = ag::uniform({2, 3}, 0.1f, 0.9f, gen).requires_grad_();
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    auto r = ag::gradcheck(
        [&](const std::vector<Tensor>& in) { return ag::binary_cross_entropy_with_logits(in[0], in[1], red); }, {x, t});
    EXPECT_TRUE(r.ok) << "reduction " << static_cast<int>(red) << ": " << r.message;
  }
}

TEST(BceWithLogits, Errors) {
  const std::string m = error_of([] { ag::binary_cross_entropy_with_logits(ag::zeros({2, 3}), ag::zeros({3, 2})); });
  EXPECT_NE(m.find("binary_cross_entropy_with_logits"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 3)"), std::string::npos) << m;
  EXPECT_NE(m.find("(3, 2)"), std::string::npos) << m;
}

// ---- mse_loss -----------------------------------------------------------------------------------

TEST(MseLoss, MatchesNaiveForEveryReduction) {
  const Tensor a = ag::from_data({1, 2, 3, 4}, {2, 2});
  const Tensor b = ag::from_data({0, 2, 5, 1}, {2, 2});
  EXPECT_EQ(ag::mse_loss(a, b, Reduction::None).to_vector(), std::vector<float>({1, 0, 4, 9}));
  EXPECT_FLOAT_EQ(ag::mse_loss(a, b, Reduction::Sum).item(), 14.0f);
  EXPECT_FLOAT_EQ(ag::mse_loss(a, b).item(), 3.5f);
}

TEST(MseLoss, Gradcheck) {
  const Tensor a = random_leaf({3, 4}, 11), b = random_leaf({3, 4}, 12);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::mse_loss(in[0], in[1], red); }, {a, b});
    EXPECT_TRUE(r.ok) << "reduction " << static_cast<int>(red) << ": " << r.message;
  }
}

TEST(MseLoss, Errors) {
  const std::string m = error_of([] { ag::mse_loss(ag::zeros({4}), ag::zeros({4, 1})); });
  EXPECT_NE(m.find("mse_loss"), std::string::npos) << m;
  EXPECT_NE(m.find("(4)"), std::string::npos) << m;
  EXPECT_NE(m.find("(4, 1)"), std::string::npos) << m;
}

}  // namespace

namespace {

// A label-smoothed, ignore_index loss over a padded batch equals the loss over the unpadded
// sequences (issue: padded == unpadded), for the value and the logits' gradient.
TEST(CrossEntropy, PaddedBatchEqualsUnpaddedSequences) {
  ag::Generator gen(9);
  const int64_t classes = 7, steps = 5;
  const std::vector<std::vector<int64_t>> sequences = {{1, 4, 2, 6, 3}, {5, 0}, {2, 2, 6}};
  // Padded: (3, 5, C) logits, targets padded with ignore_index -100.
  ag::Tensor padded_logits = ag::randn({3, steps, classes}, gen).requires_grad_();
  ag::IntTensor padded_targets = ag::IntTensor::full({3, steps}, -100);
  int64_t total = 0;
  for (int64_t b = 0; b < 3; ++b)
    for (size_t t = 0; t < sequences[b].size(); ++t, ++total) padded_targets.data()[b * steps + t] = sequences[b][t];
  ag::Tensor padded = ag::cross_entropy(padded_logits, padded_targets, -100, 0.1f);
  padded.backward();
  // Unpadded: the real positions only, gathered into (total, C).
  ag::Tensor flat = ag::empty({total, classes});
  ag::IntTensor flat_targets({total});
  int64_t row = 0;
  for (int64_t b = 0; b < 3; ++b)
    for (size_t t = 0; t < sequences[b].size(); ++t, ++row) {
      for (int64_t c = 0; c < classes; ++c) flat.data()[row * classes + c] = padded_logits.at({b, static_cast<int64_t>(t), c});
      flat_targets.data()[row] = sequences[b][t];
    }
  flat.requires_grad_();
  ag::Tensor unpadded = ag::cross_entropy(flat, flat_targets, -100, 0.1f);
  unpadded.backward();
  EXPECT_NEAR(padded.item(), unpadded.item(), 1e-5 * std::fabs(unpadded.item()));
  row = 0;
  for (int64_t b = 0; b < 3; row += static_cast<int64_t>(sequences[b].size()), ++b)
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t c = 0; c < classes; ++c) {
        const float g = padded_logits.grad().at({b, t, c});
        if (t >= static_cast<int64_t>(sequences[b].size())) {
          EXPECT_EQ(g, 0.0f);  // padding gets no gradient
        } else {
          const float expected = flat.grad().at({row + t, c});
          EXPECT_NEAR(g, expected, 1e-5 * std::max(1e-2f, std::fabs(expected)));
        }
      }
}

}  // namespace

namespace {

// A kernel's temporaries are aligned like tensors: Eigen treats elements before an alignment
// boundary one at a time and its SIMD exp differs from std::exp in the last bit, so a scratch buffer
// at a heap-dependent offset once made cross_entropy (and softmax, attention, the LSTM) differ in
// the last bits from one call to the next. Shift the heap around between calls: results stay bitwise equal.
TEST(CrossEntropy, ResultDoesNotDependOnWhereTheHeapPutsTemporaries) {
  ag::Generator gen(4);
  const ag::Tensor logits = ag::randn({64, 37}, gen).requires_grad_();  // 37 classes: rows at every alignment
  std::vector<int64_t> t(64);
  for (int64_t i = 0; i < 64; ++i) t[i] = (i * 7) % 37;
  const ag::IntTensor targets(t, {64});
  const ag::Tensor first = ag::cross_entropy(logits, targets, -100, 0.1f, ag::Reduction::None);
  std::vector<std::unique_ptr<char[]>> clutter;
  for (int i = 0; i < 64; ++i) {
    clutter.emplace_back(new char[8 + 16 * (i % 5)]);
    const ag::Tensor again = ag::cross_entropy(logits, targets, -100, 0.1f, ag::Reduction::None);
    ASSERT_EQ(again.to_vector(), first.to_vector()) << "call " << i;
    const ag::Tensor s = ag::softmax(logits, -1), s0 = ag::softmax(logits.detach(), -1);
    ASSERT_EQ(s.to_vector(), s0.to_vector()) << "call " << i;
  }
}

}  // namespace
