// sgemm against a double-precision triple loop: every transpose combination, edges that cut the
// kernel's 6 x 16 tiles, k longer than one packed slice, n wider than one packed block, strided
// operands, accumulation, and the same bits at 1 and 2 threads.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "attograd/core/gemm.h"
#include "attograd/core/threads.h"

namespace {

struct Case {
  int64_t m, n, k;
};

// A stored matrix of `rows` x `cols` with rows `ld` apart; the padding between rows is NaN so a read
// past a row's end shows up in the result.
struct Stored {
  int64_t rows, cols, ld;
  std::vector<float> values;
  Stored(int64_t r, int64_t c, int64_t pad, std::mt19937& gen) : rows(r), cols(c), ld(c + pad) {
    values.assign(r * ld, std::nanf(""));
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) values[i * ld + j] = std::uniform_real_distribution<float>(-1.0f, 1.0f)(gen);
  }
  float at(int64_t i, int64_t j) const { return values[i * ld + j]; }
};

// op(A) (m, k) @ op(B) (k, n) in double, + c0 when accumulating.
std::vector<double> reference(const Case& c, const Stored& a, bool ta, const Stored& b, bool tb,
                              const std::vector<float>& c0, int64_t ldc, bool accumulate) {
  std::vector<double> out(c.m * c.n);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double sum = accumulate ? c0[i * ldc + j] : 0.0;
      for (int64_t p = 0; p < c.k; ++p) sum += double(ta ? a.at(p, i) : a.at(i, p)) * double(tb ? b.at(j, p) : b.at(p, j));
      out[i * c.n + j] = sum;
    }
  return out;
}

class SgemmTest : public ::testing::TestWithParam<Case> {};

TEST_P(SgemmTest, MatchesDoubleLoopsForEveryLayout) {
  const Case c = GetParam();
  std::mt19937 gen(c.m * 1000003 + c.n * 1009 + c.k);
  for (int layout = 0; layout < 8; ++layout) {
    const bool ta = layout & 1, tb = layout & 2, accumulate = layout & 4;
    const int64_t pad = layout % 3;  // some layouts strided
    const Stored a = ta ? Stored(c.k, c.m, pad, gen) : Stored(c.m, c.k, pad, gen);
    const Stored b = tb ? Stored(c.n, c.k, pad, gen) : Stored(c.k, c.n, pad, gen);
    const int64_t ldc = c.n + pad;
    std::vector<float> out(c.m * ldc, -7.0f);  // -7 stands for "what C held before"
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) out[i * ldc + j] = std::uniform_real_distribution<float>(-1.0f, 1.0f)(gen);
    const std::vector<float> before = out;
    const std::vector<double> want = reference(c, a, ta, b, tb, before, ldc, accumulate);

    ag::sgemm(c.m, c.n, c.k, {a.values.data(), a.ld, ta}, {b.values.data(), b.ld, tb}, out.data(), ldc, accumulate);
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t j = 0; j < c.n; ++j) {
        const double w = want[i * c.n + j];
        ASSERT_NEAR(out[i * ldc + j], w, 1e-5 * (std::sqrt(double(c.k)) + std::abs(w)))
            << "(" << c.m << ", " << c.n << ", " << c.k << ") ta " << ta << " tb " << tb << " accumulate "
            << accumulate << " at (" << i << ", " << j << ")";
      }
      for (int64_t j = c.n; j < ldc; ++j) ASSERT_EQ(out[i * ldc + j], before[i * ldc + j]) << "wrote past a row of C";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SgemmTest,
                         ::testing::Values(Case{1, 1, 1}, Case{5, 7, 3}, Case{6, 16, 256},    // one tile, one slice
                                           Case{7, 17, 257},                                 // just past each
                                           Case{97, 131, 300},                               // ragged, two slices
                                           Case{64, 3100, 40},                               // two column blocks
                                           Case{300, 70, 600}),                              // three slices
                         [](const auto& info) {
                           return fmt::format("m{}_n{}_k{}", info.param.m, info.param.n, info.param.k);
                         });

TEST(Sgemm, EmptySumZeroesOrKeepsC) {
  std::vector<float> c(6, 3.0f);
  ag::sgemm(2, 3, 0, {nullptr, 0, false}, {nullptr, 3, false}, c.data(), 3, /*accumulate=*/true);
  for (float v : c) EXPECT_EQ(v, 3.0f);
  ag::sgemm(2, 3, 0, {nullptr, 0, false}, {nullptr, 3, false}, c.data(), 3, /*accumulate=*/false);
  for (float v : c) EXPECT_EQ(v, 0.0f);
}

TEST(Sgemm, SameBitsAtOneAndTwoThreads) {
  const int64_t m = 203, n = 150, k = 400;
  std::mt19937 gen(5);
  const Stored a(m, k, 0, gen), b(n, k, 0, gen);
  std::vector<float> one(m * n), two(m * n);
  ag::set_num_threads(1);
  ag::sgemm(m, n, k, {a.values.data(), k, false}, {b.values.data(), k, true}, one.data(), n, false);
  ag::set_num_threads(2);
  ag::sgemm(m, n, k, {a.values.data(), k, false}, {b.values.data(), k, true}, two.data(), n, false);
  ag::set_num_threads(1);
  EXPECT_EQ(one, two);
}

}  // namespace
