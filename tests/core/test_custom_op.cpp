// User-defined ops: custom_op (torch.autograd.Function) and record(); gradcheck catches wrong ones.
#include <gtest/gtest.h>

#include <cmath>

#include "attograd/core/core.h"

namespace {

using ag::Tensor;

// y = x^3;  dx = dy * 3 x^2
Tensor cube(const Tensor& x) {
  return ag::custom_op(
      "cube", {x}, [](const std::vector<Tensor>& in) { return in[0] * in[0] * in[0]; },
      [](const std::vector<Tensor>& in, const Tensor&, const Tensor& dy) {
        return ag::Grads{dy * 3.0f * in[0] * in[0]};
      });
}

// A deliberately wrong backward: dx = dy * 2 x^2.
Tensor wrong_cube(const Tensor& x) {
  return ag::custom_op(
      "wrong_cube", {x}, [](const std::vector<Tensor>& in) { return in[0] * in[0] * in[0]; },
      [](const std::vector<Tensor>& in, const Tensor&, const Tensor& dy) {
        return ag::Grads{dy * 2.0f * in[0] * in[0]};
      });
}

// z = x * y + y, written with record() directly; dx = dz * y, dy = dz * (x + 1)
Tensor fused_mul_add(const Tensor& x, const Tensor& y) {
  Tensor z = ag::empty(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) z.data()[i] = x.data()[i] * y.data()[i] + y.data()[i];
  return ag::record("fused_mul_add", {x, y}, z, [sx = ag::Saved(x), sy = ag::Saved(y)](const Tensor& dz) {
    return ag::Grads{dz * *sy, dz * (*sx + 1.0f)};
  });
}

// Two outputs from one node: a = 2x, b = x^2;  dx = 2 da + 2x db (an undefined d counts as 0)
std::vector<Tensor> double_and_square(const Tensor& x) {
  Tensor a = ag::empty(x.shape()), b = ag::empty(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) a.data()[i] = 2 * x.data()[i], b.data()[i] = x.data()[i] * x.data()[i];
  return ag::record_multi("double_and_square", {x}, {a, b}, [sx = ag::Saved(x)](const ag::Grads& g) {
    Tensor dx = ag::zeros(sx->shape());
    if (g[0].defined()) dx = dx + 2.0f * g[0];
    if (g[1].defined()) dx = dx + 2.0f * *sx * g[1];
    return ag::Grads{dx};
  });
}

TEST(CustomOp, SeveralOutputsShareOneNode) {
  Tensor x = ag::from_data({1, -2, 3}, {3}).requires_grad_();
  std::vector<Tensor> ab = double_and_square(x);
  EXPECT_EQ(ab[0].grad_fn(), ab[1].grad_fn());
  ag::sum(ab[1]).backward();  // only b is used: a's gradient arrives undefined
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, -4, 6}));
  x.zero_grad();
  ab = double_and_square(x);
  ag::sum(ab[0] * 3.0f + ab[1]).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{8, 2, 12}));
  x.zero_grad();
  auto r = ag::gradcheck([](const std::vector<Tensor>& in) {
    auto out = double_and_square(in[0]);
    return out[0] * out[1];
  }, {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(CustomOp, ForwardAndGradcheck) {
  Tensor x = ag::from_data({0.5f, -1.0f, 2.0f}, {3}).requires_grad_();
  EXPECT_EQ(cube(x).to_vector(), (std::vector<float>{0.125f, -1.0f, 8.0f}));
  EXPECT_EQ(cube(x).grad_fn()->name(), "cube");
  auto r = ag::gradcheck([](const std::vector<Tensor>& in) { return cube(in[0]); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(CustomOp, RecordDirectly) {
  ag::Generator gen(1);
  Tensor x = ag::randn({2, 3}, gen).requires_grad_(), y = ag::randn({2, 3}, gen).requires_grad_();
  auto r = ag::gradcheck([](const std::vector<Tensor>& in) { return fused_mul_add(in[0], in[1]); }, {x, y});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(CustomOp, GradcheckReportsTheWorstElement) {
  // The error x^2 |w| is below tolerance at 0.01 and -0.02 and far above it at 3.
  Tensor x = ag::from_data({0.01f, -0.02f, 3.0f}, {3}).requires_grad_();
  auto r = ag::gradcheck([](const std::vector<Tensor>& in) { return wrong_cube(in[0]); }, {x});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.input, 0);
  EXPECT_EQ(r.index, 2);
  EXPECT_NE(r.message.find("analytic"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("numeric"), std::string::npos) << r.message;
  // The tolerance names its parts, the float32 noise bound of the numeric side among them.
  EXPECT_NE(r.message.find("float32 noise"), std::string::npos) << r.message;
  EXPECT_GT(r.noise, 0.0f);
  EXPECT_GT(r.tolerance, r.noise);
  EXPECT_GT(std::fabs(r.analytic - r.numeric), r.tolerance);
}

TEST(CustomOp, InPlaceChangeOfAnInputIsCaught) {
  Tensor x = ag::from_data({1, 2}, {2}).requires_grad_();
  Tensor c = ag::from_data({3, 4}, {2});
  Tensor loss = ag::sum(ag::custom_op(
      "scale", {x, c}, [](const std::vector<Tensor>& in) { return in[0] * in[1]; },
      [](const std::vector<Tensor>& in, const Tensor&, const Tensor& dy) { return ag::Grads{dy * in[1], Tensor()}; }));
  c.fill_(0.0f);
  try {
    loss.backward();
    FAIL() << "expected an ag::Error";
  } catch (const ag::Error& e) {
    EXPECT_NE(std::string(e.what()).find("scale"), std::string::npos) << e.what();
  }
}

TEST(CustomOp, WrongNumberOfGradientsIsAnError) {
  Tensor x = ag::ones({2}).requires_grad_();
  Tensor y = ag::custom_op(
      "bad", {x}, [](const std::vector<Tensor>& in) { return in[0] * 2.0f; },
      [](const std::vector<Tensor>&, const Tensor&, const Tensor& dy) { return ag::Grads{dy, dy}; });
  try {
    ag::sum(y).backward();
    FAIL() << "expected an ag::Error";
  } catch (const ag::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad"), std::string::npos) << e.what();
  }
}

}  // namespace
