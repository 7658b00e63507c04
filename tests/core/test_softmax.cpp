// softmax and log_softmax: values against a naive double reference along every dim, gradcheck, errors.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gradcheck.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/reduce.h"
#include "attograd/core/ops/softmax.h"
#include "attograd/core/random.h"

namespace {

using ag::testing::random_leaf;

using ag::testing::error_of;

using ag::Shape;
using ag::Tensor;

// softmax (or log_softmax) of x along dim, in double, by the textbook formula exp(x) / sum(exp(x))
// (inputs are kept small so the naive formula is exact enough).
std::vector<double> naive_softmax(const Tensor& x, int64_t dim, bool log) {
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < dim; ++i) outer *= s[i];
  for (int64_t i = dim + 1; i < x.dim(); ++i) inner *= s[i];
  const int64_t n = s[dim];
  std::vector<double> out(x.numel());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double total = 0;
      for (int64_t k = 0; k < n; ++k) total += std::exp(static_cast<double>(x.data()[(o * n + k) * inner + i]));
      for (int64_t k = 0; k < n; ++k) {
        const int64_t at = (o * n + k) * inner + i;
        const double p = std::exp(static_cast<double>(x.data()[at])) / total;
        out[at] = log ? std::log(p) : p;
      }
    }
  return out;
}

TEST(Softmax, MatchesNaiveAlongEveryDim) {
  const Tensor x = random_leaf({3, 4, 5}, 1);
  for (int64_t dim = 0; dim < 3; ++dim) {
    const std::vector<double> p = naive_softmax(x, dim, false), lp = naive_softmax(x, dim, true);
    const Tensor y = ag::softmax(x, dim), ly = ag::log_softmax(x, dim - 3);  // negative dims too
    ASSERT_EQ(y.shape(), x.shape());
    ASSERT_EQ(ly.shape(), x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      EXPECT_NEAR(y.data()[i], p[i], 1e-6 * p[i] + 1e-7) << "dim " << dim << " at " << i;
      EXPECT_NEAR(ly.data()[i], lp[i], 1e-5 * std::fabs(lp[i]) + 1e-6) << "dim " << dim << " at " << i;
    }
  }
}

TEST(Softmax, RowsSumToOne) {
  const Tensor x = random_leaf({7, 33}, 2) * 5.0f;
  const Tensor s = ag::sum(ag::softmax(x, 1), {1});
  for (float v : s.to_vector()) EXPECT_NEAR(v, 1.0f, 1e-6f);
}

TEST(Softmax, LargeRowsSplitOverThreads) {
  // Enough rows for parallel_for to split them; each row is independent, so compare with the naive one.
  const Tensor x = random_leaf({4096, 20}, 3);
  const std::vector<double> p = naive_softmax(x, 1, false);
  const Tensor y = ag::softmax(x, -1);
  double worst = 0;
  for (int64_t i = 0; i < x.numel(); ++i) worst = std::max(worst, std::fabs(y.data()[i] - p[i]));
  EXPECT_LT(worst, 1e-6);
}

TEST(Softmax, Gradcheck) {
  for (int64_t dim : {0, 1, 2}) {
    const Tensor x = random_leaf({2, 3, 4}, 10 + dim);
    auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::softmax(in[0], dim); }, {x});
    EXPECT_TRUE(r.ok) << "dim " << dim << ": " << r.message;
  }
}

TEST(LogSoftmax, Gradcheck) {
  for (int64_t dim : {0, 1, -1}) {
    const Tensor x = random_leaf({2, 3, 4}, 20 + dim);
    auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::log_softmax(in[0], dim); }, {x});
    EXPECT_TRUE(r.ok) << "dim " << dim << ": " << r.message;
  }
}

TEST(LogSoftmax, BackwardFormula) {
  // dx = dy - softmax(x) * sum(dy), checked in double against the forward's own values.
  const Tensor x = random_leaf({2, 5}, 30);
  ag::Generator gen(31);
  const Tensor dy = ag::randn({2, 5}, gen);
  ag::log_softmax(x, 1).backward(dy);
  const std::vector<double> p = naive_softmax(x, 1, false);
  for (int64_t r = 0; r < 2; ++r) {
    double total = 0;
    for (int64_t j = 0; j < 5; ++j) total += dy.at({r, j});
    for (int64_t j = 0; j < 5; ++j) EXPECT_NEAR(x.grad().at({r, j}), dy.at({r, j}) - p[r * 5 + j] * total, 1e-6);
  }
}

TEST(Softmax, NanPropagates) {
  const Tensor x = ag::from_data({1.0f, NAN, 2.0f, 0.0f, 1.0f, 2.0f}, {2, 3});
  const Tensor y = ag::softmax(x, 1), ly = ag::log_softmax(x, 1);
  for (int64_t j = 0; j < 3; ++j) {
    EXPECT_TRUE(std::isnan(y.at({0, j})));
    EXPECT_TRUE(std::isnan(ly.at({0, j})));
    EXPECT_FALSE(std::isnan(y.at({1, j})));
  }
}

TEST(Softmax, Errors) {
  const Tensor x = ag::zeros({2, 3});
  std::string m = error_of([&] { ag::softmax(x, 2); });
  EXPECT_NE(m.find("softmax"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 3)"), std::string::npos) << m;
  m = error_of([&] { ag::log_softmax(x, -3); });
  EXPECT_NE(m.find("log_softmax"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 3)"), std::string::npos) << m;
}

}  // namespace
