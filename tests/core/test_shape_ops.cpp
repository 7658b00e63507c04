// Shape ops: values against hand-written results and naive index loops, gradcheck of every op, and
// the error messages.

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "attograd/core/core.h"
#include "attograd/core/ops/shape_ops.h"

namespace {

using ag::testing::random_tensor;

using ag::testing::error_of;
using ag::testing::expect_mentions;

using ag::Shape;
using ag::Tensor;

// 0, 1, 2, ... in the given shape.
Tensor iota(const Shape& shape) { return ag::arange(ag::numel(shape)).reshape(shape); }

std::vector<float> values(std::initializer_list<float> v) { return std::vector<float>(v); }

void expect_gradcheck(const ag::GradcheckFn& f, const std::vector<Tensor>& inputs) {
  const ag::GradcheckResult r = ag::gradcheck(f, inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

// permute by index arithmetic: y[i_0, ..., i_r] = x[j] with j's dim perm[d] = i_d.
std::vector<float> naive_permute(const Tensor& x, const std::vector<int64_t>& perm) {
  const Shape& s = x.shape();
  const std::vector<int64_t> xs = ag::strides_of(s);
  Shape out(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) out[d] = s[perm[d]];
  const std::vector<float> vx = x.to_vector();
  std::vector<float> y(vx.size());
  for (int64_t t = 0; t < static_cast<int64_t>(y.size()); ++t) {
    int64_t rest = t, src = 0;
    for (size_t d = perm.size(); d-- > 0;) {
      src += (rest % out[d]) * xs[perm[d]];
      rest /= out[d];
    }
    y[t] = vx[src];
  }
  return y;
}

}  // namespace

// ---- transpose / permute ------------------------------------------------------------------------

TEST(ShapeOps, TransposeHandComputed) {
  Tensor y = ag::transpose(iota({2, 3}), 0, 1);
  EXPECT_EQ(y.shape(), Shape({3, 2}));
  EXPECT_EQ(y.to_vector(), values({0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(ag::transpose(iota({2, 3}), -1, -2).to_vector(), values({0, 3, 1, 4, 2, 5}));
  Tensor z = ag::transpose(iota({2, 2, 2}), 0, 2);  // z[i, j, k] = x[k, j, i]
  EXPECT_EQ(z.to_vector(), values({0, 4, 2, 6, 1, 5, 3, 7}));
}

TEST(ShapeOps, PermuteMatchesNaiveLoops) {
  struct Case {
    Shape shape;
    std::vector<int64_t> perm;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4, 5}, {0, 2, 1, 3}}, {{2, 3, 4, 5}, {3, 2, 1, 0}}, {{2, 3, 4, 5}, {1, 0, 3, 2}},
      {{2, 3, 4, 5}, {0, 1, 2, 3}}, {{2, 1, 4, 1}, {3, 2, 0, 1}}, {{7, 70, 45}, {0, 2, 1}},
      {{50, 40, 3}, {2, 1, 0}},     {{33, 65}, {1, 0}},           {{4, 37, 6, 35}, {0, 2, 3, 1}},
      {{3, 130, 2, 70}, {2, 0, 3, 1}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{} permuted by {}", c.shape, Shape(c.perm)));
    Tensor x = random_tensor(c.shape, 1, false);
    Tensor y = ag::permute(x, c.perm);
    Shape expected(c.perm.size());
    for (size_t d = 0; d < c.perm.size(); ++d) expected[d] = c.shape[c.perm[d]];
    EXPECT_EQ(y.shape(), expected);
    EXPECT_EQ(y.to_vector(), naive_permute(x, c.perm));
  }
  EXPECT_EQ(ag::permute(iota({2, 3}), {-1, 0}).to_vector(), values({0, 3, 1, 4, 2, 5}));
}

TEST(ShapeOps, PermuteAndTransposeGradcheck) {
  Tensor x = random_tensor({2, 3, 4}, 2);
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::permute(in[0], {2, 0, 1}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::transpose(in[0], -1, 0); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::transpose(in[0], 1, 2); }, {x});
}

TEST(ShapeOps, PermuteCopies) {
  Tensor x = iota({2, 3});
  Tensor y = ag::transpose(x, 0, 1);
  EXPECT_NE(x.storage(), y.storage());
}

TEST(ShapeOps, PermuteErrors) {
  expect_mentions(error_of([] { ag::permute(ag::zeros({2, 3, 4}), {0, 1}); }), {"permute", "(0, 1)", "(2, 3, 4)"});
  expect_mentions(error_of([] { ag::permute(ag::zeros({2, 3, 4}), {0, 1, 1}); }),
                  {"permute", "(0, 1, 1)", "(2, 3, 4)"});
  expect_mentions(error_of([] { ag::permute(ag::zeros({2, 3}), {0, 2}); }), {"permute", "(2, 3)"});
  expect_mentions(error_of([] { ag::transpose(ag::zeros({2, 3}), 0, 2); }), {"transpose", "dim 2", "(2, 3)"});
  expect_mentions(error_of([] { ag::transpose(ag::zeros({2, 3}), -3, 0); }), {"transpose", "dim -3", "(2, 3)"});
}

// ---- unsqueeze / squeeze / flatten --------------------------------------------------------------

TEST(ShapeOps, UnsqueezeSqueeze) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(ag::unsqueeze(x, 0).shape(), Shape({1, 2, 3}));
  EXPECT_EQ(ag::unsqueeze(x, 1).shape(), Shape({2, 1, 3}));
  EXPECT_EQ(ag::unsqueeze(x, 2).shape(), Shape({2, 3, 1}));
  EXPECT_EQ(ag::unsqueeze(x, -1).shape(), Shape({2, 3, 1}));
  EXPECT_EQ(ag::unsqueeze(x, -3).shape(), Shape({1, 2, 3}));
  EXPECT_EQ(ag::unsqueeze(x, 1).to_vector(), x.to_vector());

  Tensor y = iota({1, 2, 1, 3});
  EXPECT_EQ(ag::squeeze(y, 0).shape(), Shape({2, 1, 3}));
  EXPECT_EQ(ag::squeeze(y, -2).shape(), Shape({1, 2, 3}));
  EXPECT_EQ(ag::squeeze(y, 1).shape(), Shape({1, 2, 1, 3}));  // not size 1: unchanged, as torch
  EXPECT_EQ(ag::squeeze(y).shape(), Shape({2, 3}));
  EXPECT_EQ(ag::squeeze(iota({1, 1})).shape(), Shape({}));
  EXPECT_EQ(ag::squeeze(ag::scalar(2.0f), 0).shape(), Shape({}));
  EXPECT_EQ(ag::squeeze(y).storage(), y.storage());  // a reshape, no copy

  Tensor g = random_tensor({2, 1, 3}, 3);
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::unsqueeze(in[0], -2); }, {g});
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::squeeze(in[0], 1); }, {g});
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::squeeze(in[0]); }, {g});

  expect_mentions(error_of([] { ag::unsqueeze(ag::zeros({2, 3}), 3); }), {"unsqueeze", "dim 3", "(2, 3)"});
  expect_mentions(error_of([] { ag::unsqueeze(ag::zeros({2, 3}), -4); }), {"unsqueeze", "dim -4", "(2, 3)"});
  expect_mentions(error_of([] { ag::squeeze(ag::zeros({2, 3}), 2); }), {"squeeze", "dim 2", "(2, 3)"});
}

TEST(ShapeOps, Flatten) {
  Tensor x = random_tensor({2, 3, 4, 5}, 4);
  EXPECT_EQ(ag::flatten(x).shape(), Shape({120}));
  EXPECT_EQ(ag::flatten(x, 1).shape(), Shape({2, 60}));
  EXPECT_EQ(ag::flatten(x, 1, 2).shape(), Shape({2, 12, 5}));
  EXPECT_EQ(ag::flatten(x, -2, -1).shape(), Shape({2, 3, 20}));
  EXPECT_EQ(ag::flatten(x, 2, 2).shape(), Shape({2, 3, 4, 5}));
  EXPECT_EQ(ag::flatten(ag::scalar(3.0f)).shape(), Shape({1}));
  EXPECT_EQ(ag::flatten(x, 1, 2).to_vector(), x.to_vector());
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::flatten(in[0], 0, 1); },
                   {random_tensor({2, 3, 2}, 5)});
  expect_mentions(error_of([&] { ag::flatten(x, 2, 1); }), {"flatten", "(2, 3, 4, 5)"});
  expect_mentions(error_of([&] { ag::flatten(x, 0, 4); }), {"flatten", "dim 4", "(2, 3, 4, 5)"});
}

// ---- concat / stack -----------------------------------------------------------------------------

TEST(ShapeOps, ConcatHandComputed) {
  Tensor a = iota({2, 2}), b = ag::full({2, 1}, 9.0f), c = ag::full({1, 2}, 7.0f);
  Tensor y = ag::concat({a, b}, 1);
  EXPECT_EQ(y.shape(), Shape({2, 3}));
  EXPECT_EQ(y.to_vector(), values({0, 1, 9, 2, 3, 9}));
  EXPECT_EQ(ag::concat({a, b}, -1).to_vector(), values({0, 1, 9, 2, 3, 9}));
  Tensor z = ag::concat({a, c, a}, 0);
  EXPECT_EQ(z.shape(), Shape({5, 2}));
  EXPECT_EQ(z.to_vector(), values({0, 1, 2, 3, 7, 7, 0, 1, 2, 3}));
  EXPECT_EQ(ag::concat({iota({2, 0, 3}), iota({2, 2, 3})}, 1).to_vector(), iota({2, 2, 3}).to_vector());
  EXPECT_EQ(ag::concat({a}, 0).to_vector(), a.to_vector());
}

TEST(ShapeOps, ConcatLargeMatchesNaive) {
  Tensor a = random_tensor({3, 500, 40}, 1, false), b = random_tensor({3, 700, 40}, 2, false);
  Tensor y = ag::concat({a, b}, 1);
  const std::vector<float> va = a.to_vector(), vb = b.to_vector(), vy = y.to_vector();
  std::vector<float> expected;
  for (int64_t o = 0; o < 3; ++o) {
    expected.insert(expected.end(), va.begin() + o * 500 * 40, va.begin() + (o + 1) * 500 * 40);
    expected.insert(expected.end(), vb.begin() + o * 700 * 40, vb.begin() + (o + 1) * 700 * 40);
  }
  EXPECT_EQ(vy, expected);
}

TEST(ShapeOps, ConcatGradcheck) {
  Tensor a = random_tensor({2, 3, 2}, 1), b = random_tensor({2, 1, 2}, 2), c = random_tensor({2, 2, 2}, 3);
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::concat(in, 1); }, {a, b, c});
  Tensor d = random_tensor({2, 2, 2}, 4, false);  // no gradient for an input that does not ask for one
  Tensor y = ag::concat({a, d}, 1);
  ag::sum(y).backward();
  EXPECT_EQ(a.grad().shape(), a.shape());
  EXPECT_FALSE(d.grad().defined());
  a.zero_grad();
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::concat({in[0], in[1] * in[1]}, 0); },
                   {random_tensor({1, 3}, 5), random_tensor({2, 3}, 6)});
}

TEST(ShapeOps, ConcatErrors) {
  expect_mentions(error_of([] { ag::concat({}, 0); }), {"concat", "empty"});
  expect_mentions(error_of([] { ag::concat({ag::zeros({2, 3}), ag::zeros({3, 4})}, 0); }),
                  {"concat", "(2, 3)", "(3, 4)"});
  expect_mentions(error_of([] { ag::concat({ag::zeros({2, 3}), ag::zeros({2, 3, 1})}, 0); }),
                  {"concat", "(2, 3)", "(2, 3, 1)"});
  expect_mentions(error_of([] { ag::concat({ag::zeros({2, 3}), ag::zeros({2, 3})}, 2); }),
                  {"concat", "dim 2", "(2, 3)"});
  expect_mentions(error_of([] { ag::concat({ag::scalar(1.0f), ag::scalar(2.0f)}, 0); }), {"concat", "()"});
}

TEST(ShapeOps, StackValuesAndGradcheck) {
  Tensor a = iota({2, 3}), b = ag::full({2, 3}, -1.0f);
  Tensor s0 = ag::stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), Shape({2, 2, 3}));
  EXPECT_EQ(s0.to_vector(), values({0, 1, 2, 3, 4, 5, -1, -1, -1, -1, -1, -1}));
  Tensor s2 = ag::stack({a, b}, -1);
  EXPECT_EQ(s2.shape(), Shape({2, 3, 2}));
  EXPECT_EQ(s2.to_vector(), values({0, -1, 1, -1, 2, -1, 3, -1, 4, -1, 5, -1}));
  Tensor s1 = ag::stack({a, b, a}, 1);
  EXPECT_EQ(s1.shape(), Shape({2, 3, 3}));
  EXPECT_EQ(s1.at({1, 2, 0}), 3.0f);  // s1[i, j, k] = tensors[j][i, k]
  EXPECT_EQ(s1.at({1, 1, 2}), -1.0f);
  EXPECT_EQ(s1.at({0, 0, 2}), 2.0f);

  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::stack(in, 1); },
                   {random_tensor({2, 3}, 1), random_tensor({2, 3}, 2), random_tensor({2, 3}, 3)});

  expect_mentions(error_of([] { ag::stack({}, 0); }), {"stack", "empty"});
  expect_mentions(error_of([] { ag::stack({ag::zeros({2, 3}), ag::zeros({3, 2})}, 0); }),
                  {"stack", "(2, 3)", "(3, 2)"});
  expect_mentions(error_of([] { ag::stack({ag::zeros({2, 3})}, 3); }), {"stack", "dim 3", "(2, 3)"});
}

// ---- narrow / slice -----------------------------------------------------------------------------

TEST(ShapeOps, NarrowValuesAndGradcheck) {
  Tensor x = iota({3, 4});
  Tensor y = ag::narrow(x, 1, 1, 2);
  EXPECT_EQ(y.shape(), Shape({3, 2}));
  EXPECT_EQ(y.to_vector(), values({1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(ag::narrow(x, 0, -1, 1).to_vector(), values({8, 9, 10, 11}));
  EXPECT_EQ(ag::narrow(x, -2, 1, 0).shape(), Shape({0, 4}));
  EXPECT_NE(y.storage(), x.storage());

  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::narrow(in[0], 1, 1, 2); },
                   {random_tensor({2, 4, 3}, 1)});

  expect_mentions(error_of([&] { ag::narrow(x, 1, 3, 2); }), {"narrow", "(3, 4)"});
  expect_mentions(error_of([&] { ag::narrow(x, 1, 5, 0); }), {"narrow", "(3, 4)"});
  expect_mentions(error_of([&] { ag::narrow(x, 1, 0, -1); }), {"narrow", "(3, 4)"});
  expect_mentions(error_of([&] { ag::narrow(x, 2, 0, 1); }), {"narrow", "dim 2", "(3, 4)"});
}

TEST(ShapeOps, SliceFollowsPythonRules) {
  Tensor x = ag::arange(10);
  EXPECT_EQ(ag::slice(x, 0, 2, 5).to_vector(), values({2, 3, 4}));             // x[2:5]
  EXPECT_EQ(ag::slice(x, 0, -3, 100).to_vector(), values({7, 8, 9}));          // x[-3:100]
  EXPECT_EQ(ag::slice(x, 0, 1, 8, 3).to_vector(), values({1, 4, 7}));          // x[1:8:3]
  EXPECT_EQ(ag::slice(x, 0, 1, 9, 3).to_vector(), values({1, 4, 7}));          // x[1:9:3]
  EXPECT_EQ(ag::slice(x, 0, 0, 10, 4).to_vector(), values({0, 4, 8}));         // x[::4]
  EXPECT_EQ(ag::slice(x, 0, -100, 3).to_vector(), values({0, 1, 2}));          // x[-100:3]
  EXPECT_EQ(ag::slice(x, 0, 5, 2).shape(), Shape({0}));                        // x[5:2]
  EXPECT_EQ(ag::slice(x, 0, 12, 20).shape(), Shape({0}));                      // x[12:20]
  EXPECT_EQ(ag::slice(x, 0, 0, -1, 2).to_vector(), values({0, 2, 4, 6, 8}));   // x[:-1:2]

  Tensor m = iota({2, 5, 2});  // m[:, 1::2, :]
  EXPECT_EQ(ag::slice(m, 1, 1, 5, 2).to_vector(), values({2, 3, 6, 7, 12, 13, 16, 17}));
  EXPECT_EQ(ag::slice(m, -1, 1, 2).to_vector(), values({1, 3, 5, 7, 9, 11, 13, 15, 17, 19}));
}

TEST(ShapeOps, SliceGradcheck) {
  Tensor x = random_tensor({2, 7, 3}, 1);
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::slice(in[0], 1, 1, 7, 2); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::slice(in[0], -1, -2, 3); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return ag::slice(in[0], 0, 0, 2, 3); }, {x});
}

TEST(ShapeOps, SliceErrors) {
  expect_mentions(error_of([] { ag::slice(ag::zeros({2, 3}), 1, 0, 3, 0); }), {"slice", "step", "(2, 3)"});
  expect_mentions(error_of([] { ag::slice(ag::zeros({2, 3}), 1, 0, 3, -1); }), {"slice", "step", "(2, 3)"});
  expect_mentions(error_of([] { ag::slice(ag::zeros({2, 3}), 2, 0, 1); }), {"slice", "dim 2", "(2, 3)"});
}

// ---- split / chunk ------------------------------------------------------------------------------

TEST(ShapeOps, SplitBySize) {
  Tensor x = iota({2, 7});
  std::vector<Tensor> parts = ag::split(x, 3, 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].shape(), Shape({2, 3}));
  EXPECT_EQ(parts[1].shape(), Shape({2, 3}));
  EXPECT_EQ(parts[2].shape(), Shape({2, 1}));
  EXPECT_EQ(parts[0].to_vector(), values({0, 1, 2, 7, 8, 9}));
  EXPECT_EQ(parts[1].to_vector(), values({3, 4, 5, 10, 11, 12}));
  EXPECT_EQ(parts[2].to_vector(), values({6, 13}));
  EXPECT_EQ(ag::split(x, 2).size(), 1u);  // dim 0 by default, split_size >= size: one piece
  EXPECT_EQ(ag::split(x, 7, -1).size(), 1u);

  // Every piece used in a different way, so each one's gradient is checked.
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        std::vector<Tensor> p = ag::split(in[0], 2, 1);
        return ag::concat({p[2], p[0] * p[0], p[1] * 3.0f}, 1);
      },
      {random_tensor({3, 5}, 1)});

  expect_mentions(error_of([&] { ag::split(x, 0, 1); }), {"split", "(2, 7)"});
  expect_mentions(error_of([&] { ag::split(x, 2, 2); }), {"split", "dim 2", "(2, 7)"});
}

TEST(ShapeOps, SplitBySizes) {
  Tensor x = iota({6, 2});
  std::vector<Tensor> parts = ag::split(x, std::vector<int64_t>{1, 0, 3, 2}, 0);
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0].to_vector(), values({0, 1}));
  EXPECT_EQ(parts[1].shape(), Shape({0, 2}));
  EXPECT_EQ(parts[2].to_vector(), values({2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(parts[3].to_vector(), values({8, 9, 10, 11}));

  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        std::vector<Tensor> p = ag::split(in[0], std::vector<int64_t>{2, 1, 3}, -1);
        return ag::concat({p[1] * 2.0f, p[2], p[0] * p[0]}, -1);
      },
      {random_tensor({2, 6}, 2)});

  expect_mentions(error_of([&] { ag::split(x, std::vector<int64_t>{2, 2}, 0); }),
                  {"split", "(2, 2)", "sum to 4", "(6, 2)", "size 6"});
  expect_mentions(error_of([&] { ag::split(x, std::vector<int64_t>{7, -1}, 0); }), {"split", "(7, -1)", "(6, 2)"});
  expect_mentions(error_of([&] { ag::split(x, std::vector<int64_t>{}, 0); }), {"split", "(6, 2)"});
}

TEST(ShapeOps, ChunkSizesFollowTorch) {
  auto sizes_of = [](const std::vector<Tensor>& parts, int64_t dim) {
    std::vector<int64_t> s;
    for (const Tensor& p : parts) s.push_back(p.size(dim));
    return s;
  };
  EXPECT_EQ(sizes_of(ag::chunk(iota({7, 2}), 3), 0), std::vector<int64_t>({3, 3, 1}));
  EXPECT_EQ(sizes_of(ag::chunk(iota({2, 6}), 4, 1), 1), std::vector<int64_t>({2, 2, 2}));  // fewer than asked
  EXPECT_EQ(sizes_of(ag::chunk(iota({5}), 5), 0), std::vector<int64_t>({1, 1, 1, 1, 1}));
  EXPECT_EQ(sizes_of(ag::chunk(iota({2}), 5), 0), std::vector<int64_t>({1, 1}));
  EXPECT_EQ(sizes_of(ag::chunk(iota({3, 0}), 2, -1), -1), std::vector<int64_t>({0, 0}));
  EXPECT_EQ(ag::chunk(iota({2, 4}), 2, 1)[1].to_vector(), values({2, 3, 6, 7}));

  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        std::vector<Tensor> p = ag::chunk(in[0], 3, 0);
        return ag::concat({p[0] * 2.0f, p[1] * p[1], p[2]}, 0);
      },
      {random_tensor({5, 2}, 3)});

  expect_mentions(error_of([] { ag::chunk(ag::zeros({4, 2}), 0); }), {"chunk", "(4, 2)"});
  expect_mentions(error_of([] { ag::chunk(ag::zeros({4, 2}), 2, -3); }), {"chunk", "dim -3", "(4, 2)"});
}

TEST(ShapeOps, SplitGradientsAccumulateAcrossPieces) {
  // Pieces that all flow into one loss give the input the full gradient back.
  Tensor x = random_tensor({4, 3}, 7);
  std::vector<Tensor> p = ag::chunk(x, 2, 0);
  ag::sum(ag::concat(p, 0) * 2.0f).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>(12, 2.0f));
}
