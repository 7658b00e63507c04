// sgemm against a double-precision triple loop: every transpose combination, edges that cut the
// kernel's 6 x 16 tiles, k longer than one packed slice, n wider than one packed block, strided
// operands, accumulation, and the same bits at 1 and 2 threads.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "attograd/core/gemm.h"
#include "attograd/core/storage.h"
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
  // Many rows: the threads split the rows; few rows: they split B's panels instead.
  for (const Case c : {Case{203, 150, 400}, Case{40, 600, 300}, Case{7, 3100, 260}}) {
    std::mt19937 gen(5);
    const Stored a(c.m, c.k, 0, gen), b(c.n, c.k, 0, gen);
    std::vector<float> one(c.m * c.n), two(c.m * c.n);
    ag::set_num_threads(1);
    ag::sgemm(c.m, c.n, c.k, {a.values.data(), c.k, false}, {b.values.data(), c.k, true}, one.data(), c.n, false);
    ag::set_num_threads(2);
    ag::sgemm(c.m, c.n, c.k, {a.values.data(), c.k, false}, {b.values.data(), c.k, true}, two.data(), c.n, false);
    ag::set_num_threads(1);
    EXPECT_EQ(one, two) << "(" << c.m << ", " << c.n << ", " << c.k << ")";
  }
}

// sgemm_shared_b packs B once and reuses it: the same bits as sgemm, on shapes that span several
// column blocks and k slices, padded rows, both layouts of B; a new version of the storage (an
// in-place write) or another storage is packed anew.
TEST(Sgemm, SharedBGivesSgemmsBitsAndNoticesChanges) {
  std::mt19937 gen(11);
  for (const Case c : {Case{64, 3100, 300}, Case{7, 5921, 256}, Case{200, 40, 700}}) {
    for (const bool tb : {false, true}) {
      const Stored a(c.m, c.k, 1, gen);
      const int64_t rows = tb ? c.n : c.k, cols = tb ? c.k : c.n;
      auto storage = std::make_shared<ag::Storage>(rows * (cols + 2));
      const Stored b(rows, cols, 2, gen);
      std::copy(b.values.begin(), b.values.end(), storage->data());
      const ag::MatrixView bv{storage->data(), cols + 2, tb};
      std::vector<float> want(c.m * c.n), got(c.m * c.n);
      for (int call = 0; call < 3; ++call) {  // the first packs, the next ones reuse
        ag::sgemm(c.m, c.n, c.k, {a.values.data(), a.ld, false}, bv, want.data(), c.n, false);
        ag::sgemm_shared_b(c.m, c.n, c.k, {a.values.data(), a.ld, false}, bv, storage, got.data(), c.n, false);
        ASSERT_EQ(got, want) << "(" << c.m << ", " << c.n << ", " << c.k << ") tb " << tb << " call " << call;
        if (call == 1) {  // an in-place write, as an optimizer step makes: the cached panels are stale
          storage->data()[3] += 1.0f;
          storage->bump_version();
        }
      }
    }
  }
  // A storage freed and another at the same place (malloc reuses it): packed anew, not read stale.
  std::vector<float> first, second;
  for (const float value : {1.0f, 2.0f}) {
    auto storage = std::make_shared<ag::Storage>(256 * 64);
    std::fill_n(storage->data(), 256 * 64, value);
    std::vector<float> a(64 * 256, 1.0f), out(64 * 64);
    ag::sgemm_shared_b(64, 64, 256, {a.data(), 256, false}, {storage->data(), 256, true}, storage, out.data(), 64, false);
    (value == 1.0f ? first : second) = out;
  }
  EXPECT_EQ(first[0], 256.0f);
  EXPECT_EQ(second[0], 512.0f);
}

}  // namespace
