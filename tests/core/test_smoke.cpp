#include <gtest/gtest.h>
#include "core/core.h"
TEST(Smoke, Tanh) {
  ag::Tensor x = ag::from_data({0.5f, -1.0f}, {2}).requires_grad_();
  ag::Tensor y = ag::sum(ag::tanh(x) * x);
  y.backward();
  EXPECT_EQ(x.grad().shape(), ag::Shape({2}));
}
