// matmul and linear: values against naive loops written here, gradients by gradcheck and by naive
// loops, the broadcasting shape table, and the error messages.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "attograd/core/core.h"
#include "attograd/core/ops/matmul.h"
#include "attograd/core/ops/shape_ops.h"

namespace {

using ag::testing::random_tensor;

using ag::testing::error_of;
using ag::testing::expect_mentions;

using ag::Shape;
using ag::Tensor;

void expect_all_close(const std::vector<float>& actual, const std::vector<float>& expected, float tol = 1e-5f) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_LE(std::abs(actual[i] - expected[i]), tol * (1.0f + std::abs(expected[i])))
        << "element " << i << ": " << actual[i] << " vs " << expected[i];
}

// torch.matmul written out with index arithmetic and double accumulators, independent of the library.
struct Reference {
  Shape shape;
  std::vector<float> values;
};

Reference naive_matmul(const Tensor& a, const Tensor& b) {
  Shape sa = a.shape(), sb = b.shape();
  if (a.dim() == 1) sa.insert(sa.begin(), 1);
  if (b.dim() == 1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  const size_t rank = std::max(sa.size(), sb.size()) - 2;
  // Batch dims padded on the left with 1s to the common rank.
  Shape ba(rank, 1), bb(rank, 1), batch(rank);
  for (size_t i = 0; i < sa.size() - 2; ++i) ba[rank - (sa.size() - 2) + i] = sa[i];
  for (size_t i = 0; i < sb.size() - 2; ++i) bb[rank - (sb.size() - 2) + i] = sb[i];
  for (size_t d = 0; d < rank; ++d) batch[d] = std::max(ba[d], bb[d]);
  int64_t count = 1;
  for (int64_t s : batch) count *= s;
  Reference r;
  r.shape = batch;
  if (a.dim() > 1) r.shape.push_back(m);
  if (b.dim() > 1) r.shape.push_back(n);
  r.values.resize(count * m * n);
  const std::vector<float> va = a.to_vector(), vb = b.to_vector();
  for (int64_t p = 0; p < count; ++p) {
    int64_t ia = 0, ib = 0, rest = p;
    std::vector<int64_t> coord(rank);
    for (size_t d = rank; d-- > 0;) coord[d] = rest % batch[d], rest /= batch[d];
    for (size_t d = 0; d < rank; ++d) {
      ia = ia * ba[d] + (ba[d] == 1 ? 0 : coord[d]);
      ib = ib * bb[d] + (bb[d] == 1 ? 0 : coord[d]);
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t t = 0; t < k; ++t) acc += double(va[(ia * m + i) * k + t]) * vb[(ib * k + t) * n + j];
        r.values[(p * m + i) * n + j] = static_cast<float>(acc);
      }
  }
  return r;
}

}  // namespace

TEST(Matmul, HandComputed2x2) {
  Tensor a = ag::from_data({1, 2, 3, 4}, {2, 2});
  Tensor b = ag::from_data({5, 6, 7, 8}, {2, 2});
  Tensor y = ag::matmul(a, b);
  EXPECT_EQ(y.shape(), Shape({2, 2}));
  EXPECT_EQ(y.to_vector(), std::vector<float>({19, 22, 43, 50}));
}

TEST(Matmul, HandComputedGradients) {
  // y = a @ b with dy = ones: da = ones @ b^T (row sums of b), db = a^T @ ones (column sums of a).
  Tensor a = ag::from_data({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  Tensor b = ag::from_data({1, -1, 2, 0, 3, 1}, {3, 2}).requires_grad_();
  ag::sum(ag::matmul(a, b)).backward();
  EXPECT_EQ(a.grad().to_vector(), std::vector<float>({0, 2, 4, 0, 2, 4}));
  EXPECT_EQ(b.grad().to_vector(), std::vector<float>({5, 5, 7, 7, 9, 9}));
}

TEST(Matmul, VectorDotAndMatrixVector) {
  Tensor v = ag::from_data({1, 2, 3}, {3});
  Tensor w = ag::from_data({4, 5, 6}, {3});
  Tensor dot = ag::matmul(v, w);
  EXPECT_EQ(dot.shape(), Shape({}));
  EXPECT_EQ(dot.item(), 32.0f);
  Tensor m = ag::from_data({1, 0, 0, 0, 1, 1}, {2, 3});
  EXPECT_EQ(ag::matmul(m, v).to_vector(), std::vector<float>({1, 5}));
  EXPECT_EQ(ag::matmul(v, ag::from_data({1, 0, 0, 1, 1, 1}, {3, 2})).to_vector(), std::vector<float>({4, 5}));
}

struct BroadcastCase {
  Shape a, b, out;
};

TEST(Matmul, BroadcastShapeTable) {
  const std::vector<BroadcastCase> cases = {
      {{2, 3, 4, 5}, {5, 6}, {2, 3, 4, 6}},
      {{7, 1, 3, 4}, {2, 4, 5}, {7, 2, 3, 5}},
      {{3, 4}, {4, 5}, {3, 5}},
      {{1, 4, 5}, {3, 5, 2}, {3, 4, 2}},
      {{4}, {4, 5}, {5}},
      {{3, 4}, {4}, {3}},
      {{4}, {4}, {}},
      {{4}, {2, 4, 3}, {2, 3}},
      {{2, 3, 4}, {4}, {2, 3}},
      {{3, 4}, {2, 4, 5}, {2, 3, 5}},
      {{2, 1, 3, 4}, {1, 5, 4, 2}, {2, 5, 3, 2}},
      {{2, 3, 4}, {2, 4, 5}, {2, 3, 5}},
      {{5, 3, 4}, {1, 4, 2}, {5, 3, 2}},
  };
  uint64_t seed = 1;
  for (const BroadcastCase& c : cases) {
    SCOPED_TRACE(fmt::format("{} @ {}", c.a, c.b));
    Tensor a = random_tensor(c.a, seed++), b = random_tensor(c.b, seed++);
    Tensor y = ag::matmul(a, b);
    EXPECT_EQ(y.shape(), c.out);
    const Reference ref = naive_matmul(a, b);
    EXPECT_EQ(ref.shape, c.out);
    expect_all_close(y.to_vector(), ref.values);

    ag::Generator gen(seed++);
    y.backward(ag::randn(y.shape(), gen));
    EXPECT_EQ(a.grad().shape(), c.a);
    EXPECT_EQ(b.grad().shape(), c.b);
    a.zero_grad();
    b.zero_grad();

    const ag::GradcheckResult r =
        ag::gradcheck([](const std::vector<Tensor>& in) { return ag::matmul(in[0], in[1]); }, {a, b});
    EXPECT_TRUE(r.ok) << r.message;
  }
}

TEST(Matmul, OnlyInputsThatRequireGradGetGradients) {
  Tensor a = random_tensor({2, 3, 4}, 1, true), b = random_tensor({4, 5}, 2, false);
  ag::sum(ag::matmul(a, b)).backward();
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());

  Tensor c = random_tensor({2, 3, 4}, 3, false), d = random_tensor({2, 4, 5}, 4, true);
  ag::sum(ag::matmul(c, d)).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_TRUE(d.grad().defined());

  Tensor e = ag::matmul(random_tensor({2, 2}, 5, false), random_tensor({2, 2}, 6, false));
  EXPECT_FALSE(e.requires_grad());
}

// Many batches (parallel over batches, one GEMM per thread) and a broadcast operand (gradients summed
// over the batches it was used in), values and gradients against naive loops.
TEST(Matmul, ManyBatchesMatchNaiveLoops) {
  const int64_t batches = 24, m = 33, k = 40, n = 29;
  Tensor a = random_tensor({batches, m, k}, 11), b = random_tensor({batches, k, n}, 12);
  Tensor w = random_tensor({1, k, n}, 13);  // broadcast over the batches
  Tensor y = ag::matmul(a, b);
  expect_all_close(y.to_vector(), naive_matmul(a, b).values, 1e-4f);
  Tensor z = ag::matmul(a, w);
  expect_all_close(z.to_vector(), naive_matmul(a, w).values, 1e-4f);

  ag::Generator gen(14);
  Tensor gy = ag::randn(y.shape(), gen), gz = ag::randn(z.shape(), gen);
  (ag::sum(y * gy) + ag::sum(z * gz)).backward();
  // da[p] = gy[p] @ b[p]^T + gz[p] @ w^T;  db[p] = a[p]^T @ gy[p];  dw = sum_p a[p]^T @ gz[p]
  const std::vector<float> va = a.to_vector(), vb = b.to_vector(), vw = w.to_vector();
  const std::vector<float> vgy = gy.to_vector(), vgz = gz.to_vector();
  std::vector<float> da(batches * m * k), db(batches * k * n), dw(k * n);
  for (int64_t p = 0; p < batches; ++p) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t t = 0; t < k; ++t) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j)
          acc += double(vgy[(p * m + i) * n + j]) * vb[(p * k + t) * n + j] +
                 double(vgz[(p * m + i) * n + j]) * vw[t * n + j];
        da[(p * m + i) * k + t] = static_cast<float>(acc);
      }
    for (int64_t t = 0; t < k; ++t)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t i = 0; i < m; ++i) acc += double(va[(p * m + i) * k + t]) * vgy[(p * m + i) * n + j];
        db[(p * k + t) * n + j] = static_cast<float>(acc);
      }
  }
  for (int64_t t = 0; t < k; ++t)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < batches; ++p)
        for (int64_t i = 0; i < m; ++i) acc += double(va[(p * m + i) * k + t]) * vgz[(p * m + i) * n + j];
      dw[t * n + j] = static_cast<float>(acc);
    }
  expect_all_close(a.grad().to_vector(), da, 1e-4f);
  expect_all_close(b.grad().to_vector(), db, 1e-4f);
  EXPECT_EQ(w.grad().shape(), Shape({1, k, n}));
  expect_all_close(w.grad().to_vector(), dw, 1e-4f);
}

TEST(Matmul, SameResultRunToRun) {
  Tensor a = random_tensor({16, 20, 30}, 21), b = random_tensor({1, 30, 25}, 22);
  auto run = [&] {
    a.zero_grad();
    b.zero_grad();
    Tensor y = ag::matmul(a, b);
    ag::sum(y * y).backward();
    return std::vector<std::vector<float>>{y.to_vector(), a.grad().to_vector(), b.grad().to_vector()};
  };
  EXPECT_EQ(run(), run());
}

TEST(Matmul, EmptyDims) {
  Tensor a = random_tensor({3, 0}, 1), b = random_tensor({0, 5}, 2);
  Tensor y = ag::matmul(a, b);
  EXPECT_EQ(y.shape(), Shape({3, 5}));
  EXPECT_EQ(y.to_vector(), std::vector<float>(15, 0.0f));
  ag::sum(y).backward();
  EXPECT_EQ(a.grad().shape(), Shape({3, 0}));
  EXPECT_EQ(b.grad().shape(), Shape({0, 5}));

  EXPECT_EQ(ag::matmul(random_tensor({0, 4}, 3), random_tensor({4, 5}, 4)).shape(), Shape({0, 5}));
  EXPECT_EQ(ag::matmul(random_tensor({2, 0, 3, 4}, 5), random_tensor({1, 4, 5}, 6)).shape(), Shape({2, 0, 3, 5}));
}

TEST(Matmul, Errors) {
  expect_mentions(error_of([] { ag::matmul(ag::zeros({3, 4}), ag::zeros({5, 6})); }), {"matmul", "(3, 4)", "(5, 6)"});
  expect_mentions(error_of([] { ag::matmul(ag::zeros({2, 3, 4}), ag::zeros({3, 4, 5})); }),
                  {"matmul", "(2, 3, 4)", "(3, 4, 5)"});
  expect_mentions(error_of([] { ag::matmul(ag::zeros({3}), ag::zeros({4})); }), {"matmul", "(3)", "(4)"});
  expect_mentions(error_of([] { ag::matmul(ag::scalar(1.0f), ag::zeros({4})); }), {"matmul", "()", "(4)"});
}

// ---- linear -------------------------------------------------------------------------------------

TEST(Linear, MatchesNaiveLoops) {
  const int64_t rows = 2 * 70, in = 33, out = 41;
  Tensor x = random_tensor({2, 70, in}, 1), w = random_tensor({out, in}, 2), b = random_tensor({out}, 3);
  Tensor y = ag::linear(x, w, b);
  EXPECT_EQ(y.shape(), Shape({2, 70, out}));
  const std::vector<float> vx = x.to_vector(), vw = w.to_vector(), vb = b.to_vector();
  std::vector<float> expected(rows * out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = vb[o];
      for (int64_t i = 0; i < in; ++i) acc += double(vx[r * in + i]) * vw[o * in + i];
      expected[r * out + o] = static_cast<float>(acc);
    }
  expect_all_close(y.to_vector(), expected, 1e-4f);

  ag::Generator gen(4);
  Tensor g = ag::randn(y.shape(), gen);
  y.backward(g);
  const std::vector<float> vg = g.to_vector();
  std::vector<float> dx(rows * in), dw(out * in), db(out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < in; ++i) {
      double acc = 0;
      for (int64_t o = 0; o < out; ++o) acc += double(vg[r * out + o]) * vw[o * in + i];
      dx[r * in + i] = static_cast<float>(acc);
    }
  for (int64_t o = 0; o < out; ++o) {
    double acc_b = 0;
    for (int64_t r = 0; r < rows; ++r) acc_b += vg[r * out + o];
    db[o] = static_cast<float>(acc_b);
    for (int64_t i = 0; i < in; ++i) {
      double acc = 0;
      for (int64_t r = 0; r < rows; ++r) acc += double(vg[r * out + o]) * vx[r * in + i];
      dw[o * in + i] = static_cast<float>(acc);
    }
  }
  expect_all_close(x.grad().to_vector(), dx, 1e-4f);
  expect_all_close(w.grad().to_vector(), dw, 1e-4f);
  expect_all_close(b.grad().to_vector(), db, 1e-4f);
}

TEST(Linear, EqualsMatmulWithTransposedWeight) {
  Tensor x = random_tensor({3, 5, 6}, 1, false), w = random_tensor({4, 6}, 2, false);
  expect_all_close(ag::linear(x, w).to_vector(), ag::matmul(x, ag::transpose(w, 0, 1)).to_vector());
}

TEST(Linear, Gradcheck) {
  Tensor x = random_tensor({2, 3, 5}, 1), w = random_tensor({4, 5}, 2), b = random_tensor({4}, 3);
  auto with_bias = [](const std::vector<Tensor>& in) { return ag::linear(in[0], in[1], in[2]); };
  ag::GradcheckResult r = ag::gradcheck(with_bias, {x, w, b});
  EXPECT_TRUE(r.ok) << r.message;
  r = ag::gradcheck([](const std::vector<Tensor>& in) { return ag::linear(in[0], in[1]); }, {x, w});
  EXPECT_TRUE(r.ok) << r.message;
  Tensor v = random_tensor({5}, 4);  // a single 1-D input gives a 1-D output
  EXPECT_EQ(ag::linear(v, w, b).shape(), Shape({4}));
  r = ag::gradcheck(with_bias, {v, w, b});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Linear, OnlyInputsThatRequireGradGetGradients) {
  Tensor x = random_tensor({3, 5}, 1, false), w = random_tensor({4, 5}, 2, true), b = random_tensor({4}, 3, false);
  ag::sum(ag::linear(x, w, b)).backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(Linear, Errors) {
  EXPECT_EQ(error_of([] { ag::linear(ag::zeros({32, 200, 127}), ag::zeros({256, 128})); }),
            "linear: input (32, 200, 127) does not match weight (256, 128)");
  expect_mentions(error_of([] { ag::linear(ag::zeros({2, 3}), ag::zeros({4, 3}), ag::zeros({5})); }),
                  {"linear", "(5)", "(4, 3)"});
  expect_mentions(error_of([] { ag::linear(ag::zeros({2, 3}), ag::zeros({3})); }), {"linear", "(2, 3)", "(3)"});
}

namespace {
// Without recording, linear keeps its weight's packed form between calls (ag::sgemm_shared_b): the
// same values as with recording, and an optimizer-style in-place update is seen at the next call.
TEST(Linear, UnrecordedCallsReuseThePackedWeightUntilItChanges) {
  ag::Generator gen(3);
  const ag::Tensor w = ag::randn({300, 256}, gen).requires_grad_(), b = ag::randn({300}, gen).requires_grad_();
  const ag::Tensor x = ag::randn({40, 256}, gen);
  const std::vector<float> recorded = ag::linear(x, w, b).to_vector();
  ag::NoGradGuard no_grad;
  EXPECT_EQ(ag::linear(x, w, b).to_vector(), recorded);
  EXPECT_EQ(ag::linear(x, w, b).to_vector(), recorded);  // from the kept panels
  w.mutable_data()[0] += 1.0f;                             // row 0 of the weight, as a step would change it
  const std::vector<float> after = ag::linear(x, w, b).to_vector();
  EXPECT_FLOAT_EQ(after[0], recorded[0] + x.data()[0]);
  EXPECT_EQ(after[1], recorded[1]);
}
}  // namespace
