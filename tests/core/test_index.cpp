// index_select, embedding, gather, masked_fill, where: values against naive loops, gradcheck, errors.

#include <gtest/gtest.h>

#include <string>

#include "tests/test_util.h"
#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gradcheck.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/index.h"
#include "attograd/core/ops/reduce.h"
#include "attograd/core/random.h"

namespace {

using ag::testing::random_leaf;

using ag::testing::error_of;

using ag::IntTensor;
using ag::Shape;
using ag::Tensor;

// ---- index_select -------------------------------------------------------------------------------

TEST(IndexSelect, PicksAlongAnyDim) {
  const Tensor x = ag::arange(24).reshape({2, 3, 4});
  const IntTensor index({2, 0, 2}, {3});
  // dim 1: out[a, k, c] = x[a, index[k], c]
  const Tensor y1 = ag::index_select(x, 1, index);
  ASSERT_EQ(y1.shape(), Shape({2, 3, 4}));
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t k = 0; k < 3; ++k)
      for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(y1.at({a, k, c}), x.at({a, index.at({k}), c}));
  // dim -1 (the last): out[a, b, k] = x[a, b, index[k]]
  const Tensor y2 = ag::index_select(x, -1, index);
  ASSERT_EQ(y2.shape(), Shape({2, 3, 3}));
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(y2.at({a, b, k}), x.at({a, b, index.at({k})}));
  // dim 0 with an empty index
  EXPECT_EQ(ag::index_select(x, 0, IntTensor(Shape{0})).shape(), Shape({0, 3, 4}));
}

TEST(IndexSelect, Gradcheck) {
  const IntTensor index({1, 1, 0, 2}, {4});  // a repeated index: its gradients add up
  for (int64_t dim : {0, 1, 2}) {
    const Tensor x = random_leaf({3, 3, 3}, 1 + dim);
    auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::index_select(in[0], dim, index); }, {x});
    EXPECT_TRUE(r.ok) << "dim " << dim << ": " << r.message;
  }
}

TEST(IndexSelect, RepeatedIndexAccumulates) {
  const Tensor x = ag::zeros({3, 2}).requires_grad_();
  ag::sum(ag::index_select(x, 0, IntTensor({2, 2, 2, 0}, {4}))).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({1, 1, 0, 0, 3, 3}));
}

TEST(IndexSelect, Errors) {
  const Tensor x = ag::zeros({3, 5});
  std::string m = error_of([&] { ag::index_select(x, 1, IntTensor({0, 5}, {2})); });
  EXPECT_NE(m.find("index_select"), std::string::npos) << m;
  EXPECT_NE(m.find("index 5"), std::string::npos) << m;
  EXPECT_NE(m.find("(3, 5)"), std::string::npos) << m;
  m = error_of([&] { ag::index_select(x, 0, IntTensor({-1}, {1})); });
  EXPECT_NE(m.find("index -1"), std::string::npos) << m;
  m = error_of([&] { ag::index_select(x, 0, IntTensor({0, 0}, {1, 2})); });
  EXPECT_NE(m.find("index_select"), std::string::npos) << m;
  EXPECT_NE(m.find("(1, 2)"), std::string::npos) << m;
  m = error_of([&] { ag::index_select(x, 2, IntTensor({0}, {1})); });
  EXPECT_NE(m.find("index_select"), std::string::npos) << m;
}

// ---- embedding ----------------------------------------------------------------------------------

TEST(Embedding, LooksUpRows) {
  const Tensor w = ag::arange(15).reshape({5, 3});
  const IntTensor ids({4, 0, 2, 2, 1, 3}, {2, 3});
  const Tensor y = ag::embedding(ids, w);
  ASSERT_EQ(y.shape(), Shape({2, 3, 3}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t d = 0; d < 3; ++d) EXPECT_EQ(y.at({i, j, d}), w.at({ids.at({i, j}), d}));
  // A 0-dim id gives one row of shape (D).
  const Tensor one = ag::embedding(IntTensor({3}, Shape{}), w);
  EXPECT_EQ(one.shape(), Shape({3}));
  EXPECT_EQ(one.to_vector(), std::vector<float>({9, 10, 11}));
}

TEST(Embedding, Gradcheck) {
  const IntTensor ids({1, 3, 1, 0, 4, 3}, {2, 3});
  const Tensor w = random_leaf({5, 4}, 11);
  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::embedding(ids, in[0]); }, {w});
  EXPECT_TRUE(r.ok) << r.message;
  // With padding_idx = 3 row 3 gets no gradient; zeroing the outputs that read it makes that the
  // true derivative too, so gradcheck covers the other rows with padding on.
  IntTensor is_pad(Shape{2, 3, 1});
  for (int64_t i = 0; i < ids.numel(); ++i) is_pad.data()[i] = ids.data()[i] == 3;
  auto rp = ag::gradcheck(
      [&](const std::vector<Tensor>& in) { return ag::masked_fill(ag::embedding(ids, in[0], 3), is_pad, 0.0f); }, {w});
  EXPECT_TRUE(rp.ok) << rp.message;
}

TEST(Embedding, PaddingRowGetsExactlyZeroGradient) {
  const IntTensor ids({0, 2, 0, 1, 2, 2}, {2, 3});
  const Tensor w = random_leaf({4, 3}, 5);
  ag::Generator gen(9);
  const Tensor upstream = ag::randn({2, 3, 3}, gen);
  ag::embedding(ids, w, /*padding_idx=*/2).backward(upstream);
  const Tensor g = w.grad();
  ASSERT_EQ(g.shape(), Shape({4, 3}));
  for (int64_t d = 0; d < 3; ++d) {
    EXPECT_EQ(g.at({2, d}), 0.0f);  // the padding row
    EXPECT_EQ(g.at({3, d}), 0.0f);  // a row no id uses
    EXPECT_FLOAT_EQ(g.at({0, d}), upstream.at({0, 0, d}) + upstream.at({0, 2, d}));
    EXPECT_FLOAT_EQ(g.at({1, d}), upstream.at({1, 0, d}));
  }
}

TEST(Embedding, Errors) {
  const Tensor w = ag::zeros({5, 3});
  std::string m = error_of([&] { ag::embedding(IntTensor({0, 1, 2, 7}, {2, 2}), w); });
  EXPECT_NE(m.find("embedding"), std::string::npos) << m;
  EXPECT_NE(m.find("id 7"), std::string::npos) << m;
  EXPECT_NE(m.find("position (1, 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("vocabulary of 5"), std::string::npos) << m;
  EXPECT_NE(m.find("(5, 3)"), std::string::npos) << m;
  m = error_of([&] { ag::embedding(IntTensor({-1}, {1}), w); });
  EXPECT_NE(m.find("id -1"), std::string::npos) << m;
  m = error_of([&] { ag::embedding(IntTensor({0}, {1}), ag::zeros({5})); });
  EXPECT_NE(m.find("embedding"), std::string::npos) << m;
  EXPECT_NE(m.find("(5)"), std::string::npos) << m;
  m = error_of([&] { ag::embedding(IntTensor({0}, {1}), w, 5); });
  EXPECT_NE(m.find("padding_idx 5"), std::string::npos) << m;
}

// ---- gather -------------------------------------------------------------------------------------

TEST(Gather, PicksAlongLastDim) {
  const Tensor x = ag::arange(24).reshape({2, 3, 4});
  const IntTensor index({3, 0, 1, 1, 2, 2, 0, 0, 3, 1, 2, 3}, {2, 3, 2});
  const Tensor y = ag::gather(x, index);
  ASSERT_EQ(y.shape(), Shape({2, 3, 2}));
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t k = 0; k < 2; ++k) EXPECT_EQ(y.at({a, b, k}), x.at({a, b, index.at({a, b, k})}));
}

TEST(Gather, Gradcheck) {
  const IntTensor index({2, 2, 0, 1, 3, 1, 1, 0, 0}, {3, 3});  // repeats within a row accumulate
  const Tensor x = random_leaf({3, 4}, 21);
  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::gather(in[0], index); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gather, Errors) {
  const Tensor x = ag::zeros({2, 4});
  std::string m = error_of([&] { ag::gather(x, IntTensor({0, 1, 2}, {3, 1})); });
  EXPECT_NE(m.find("gather"), std::string::npos) << m;
  EXPECT_NE(m.find("(3, 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 4)"), std::string::npos) << m;
  m = error_of([&] { ag::gather(x, IntTensor({0, 4}, {2, 1})); });
  EXPECT_NE(m.find("gather"), std::string::npos) << m;
  EXPECT_NE(m.find("index 4"), std::string::npos) << m;
  EXPECT_NE(m.find("position (1, 0)"), std::string::npos) << m;
}

// ---- masked_fill --------------------------------------------------------------------------------

TEST(MaskedFill, BroadcastsTheMask) {
  const Tensor x = ag::arange(24).reshape({2, 3, 4});
  const IntTensor mask({1, 0, 0, 1, 0, 1, 0, 0}, {2, 1, 4});
  const Tensor y = ag::masked_fill(x, mask, -5.0f);
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 4; ++c)
        EXPECT_EQ(y.at({a, b, c}), mask.at({a, 0, c}) ? -5.0f : x.at({a, b, c}));
  // A mask of the same shape, and a 0-dim mask.
  const IntTensor full_mask({0, 2, 0, 0, 0, -1}, {2, 3});
  EXPECT_EQ(ag::masked_fill(ag::ones({2, 3}), full_mask, 0).to_vector(), std::vector<float>({1, 0, 1, 1, 1, 0}));
  EXPECT_EQ(ag::masked_fill(ag::ones({2}), IntTensor({1}, Shape{}), 3).to_vector(), std::vector<float>({3, 3}));
}

TEST(MaskedFill, Gradcheck) {
  const IntTensor mask({0, 1, 1, 0, 0, 1}, {2, 1, 3});
  const Tensor x = random_leaf({2, 2, 3}, 31);
  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::masked_fill(in[0], mask, 7.0f); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
  const Tensor y = ag::masked_fill(x, mask, 7.0f);
  ag::sum(y).backward();
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(x.grad().at({a, b, c}), mask.at({a, 0, c}) ? 0.0f : 1.0f);
}

TEST(MaskedFill, Errors) {
  std::string m = error_of([] { ag::masked_fill(ag::zeros({2, 3}), IntTensor(Shape{2, 2}), 0); });
  EXPECT_NE(m.find("masked_fill"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 2)"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 3)"), std::string::npos) << m;
  // A mask that would enlarge x is refused too (the result keeps x's shape, as in torch).
  m = error_of([] { ag::masked_fill(ag::zeros({1, 3}), IntTensor(Shape{4, 3}), 0); });
  EXPECT_NE(m.find("masked_fill"), std::string::npos) << m;
  EXPECT_NE(m.find("(4, 3)"), std::string::npos) << m;
}

// ---- where --------------------------------------------------------------------------------------

TEST(Where, BroadcastsAllThree) {
  const IntTensor cond({1, 0}, {2, 1});
  const Tensor a = ag::arange(6).reshape({2, 3});
  const Tensor b = ag::from_data({-1, -2, -3}, {3});
  const Tensor y = ag::where(cond, a, b);
  ASSERT_EQ(y.shape(), Shape({2, 3}));
  EXPECT_EQ(y.to_vector(), std::vector<float>({0, 1, 2, -1, -2, -3}));
  // cond alone sets the shape.
  const Tensor z = ag::where(IntTensor({1, 0, 0, 1}, {2, 2}), ag::scalar(1), ag::from_data({5}, {1}));
  ASSERT_EQ(z.shape(), Shape({2, 2}));
  EXPECT_EQ(z.to_vector(), std::vector<float>({1, 5, 5, 1}));
}

TEST(Where, Gradcheck) {
  struct Case { Shape cond, a, b; };
  const std::vector<Case> cases = {
      {{2, 3}, {2, 3}, {2, 3}}, {{2, 1}, {2, 3}, {3}}, {{2, 3}, {1}, {2, 1}}, {{3}, {2, 1}, {1, 3}}};
  for (const Case& c : cases) {
    IntTensor cond(c.cond);
    for (int64_t i = 0; i < cond.numel(); ++i) cond.data()[i] = (i * 7 + 1) % 3 == 0;
    const Tensor a = random_leaf(c.a, 41), b = random_leaf(c.b, 42);
    auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::where(cond, in[0], in[1]); }, {a, b});
    EXPECT_TRUE(r.ok) << ag::to_string(c.cond) << " " << ag::to_string(c.a) << " " << ag::to_string(c.b) << ": "
                      << r.message;
  }
}

TEST(Where, GradientsSplitByCondition) {
  const Tensor a = ag::zeros({3}).requires_grad_(), b = ag::zeros({1}).requires_grad_();
  ag::sum(ag::where(IntTensor({1, 0, 1}, {3}), a, b)).backward();
  EXPECT_EQ(a.grad().to_vector(), std::vector<float>({1, 0, 1}));
  EXPECT_EQ(b.grad().to_vector(), std::vector<float>({1}));
}

TEST(Where, Errors) {
  const std::string m = error_of([] { ag::where(IntTensor(Shape{4}), ag::zeros({2, 3}), ag::zeros({3})); });
  EXPECT_NE(m.find("where"), std::string::npos) << m;
  EXPECT_NE(m.find("(4)"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 3)"), std::string::npos) << m;
  const std::string m2 = error_of([] { ag::where(IntTensor(Shape{3}), ag::zeros({2, 3}), ag::zeros({2})); });
  EXPECT_NE(m2.find("where"), std::string::npos) << m2;
  EXPECT_NE(m2.find("(2)"), std::string::npos) << m2;
}

TEST(UnravelIndex, Coordinates) {
  EXPECT_EQ(ag::unravel_index(7, {2, 3, 4}), Shape({0, 1, 3}));
  EXPECT_EQ(ag::unravel_index(23, {2, 3, 4}), Shape({1, 2, 3}));
  EXPECT_EQ(ag::unravel_index(0, {}), Shape({}));
}

}  // namespace
