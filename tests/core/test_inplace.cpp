// In-place safety: changing a tensor that a node saved for backward makes backward raise an
// ag::Error naming the op, never return a silently wrong gradient.
#include <gtest/gtest.h>

#include "attograd/core/core.h"

namespace {

using ag::Tensor;

std::string backward_error(const Tensor& loss) {
  try {
    loss.backward();
  } catch (const ag::Error& e) {
    return e.what();
  }
  return "(no ag::Error raised)";
}

TEST(InPlace, OptimizerStepBetweenForwardAndBackwardIsCaught) {
  Tensor w = ag::from_data({1, 2}, {2}).requires_grad_();
  Tensor x = ag::from_data({3, 4}, {2}).requires_grad_();
  Tensor loss = ag::sum(w * x);  // mul saved w (for dx) and x (for dw)
  {
    ag::NoGradGuard no_grad;
    w.add_(ag::ones({2}), -0.1f);  // an "optimizer step" too early
  }
  const std::string msg = backward_error(loss);
  EXPECT_NE(msg.find("mul"), std::string::npos) << msg;
  EXPECT_NE(msg.find("modified in place"), std::string::npos) << msg;
}

TEST(InPlace, ChangingASavedOutputIsCaught) {
  Tensor x = ag::from_data({0.1f, 0.2f}, {2}).requires_grad_();
  Tensor y = ag::tanh(x);  // tanh saves its output
  Tensor loss = ag::sum(y * 2.0f);
  {
    ag::NoGradGuard no_grad;
    y.fill_(0.0f);
  }
  const std::string msg = backward_error(loss);
  EXPECT_NE(msg.find("tanh"), std::string::npos) << msg;
}

TEST(InPlace, ChangingAViewOfASavedTensorIsCaught) {
  Tensor x = ag::from_data({1, 2, 3, 4}, {4}).requires_grad_();
  Tensor y = ag::exp(x);
  Tensor loss = ag::sum(y);
  {
    ag::NoGradGuard no_grad;
    y.reshape({2, 2}).set({0, 0}, 5.0f);  // a view shares the version counter
  }
  EXPECT_NE(backward_error(loss).find("exp"), std::string::npos);
}

// A custom layer or optimizer that writes through mutable_data() cannot forget the version bump.
TEST(InPlace, AWriteThroughMutableDataIsCaught) {
  Tensor w = ag::from_data({1, 2}, {2}).requires_grad_();
  Tensor x = ag::from_data({3, 4}, {2}).requires_grad_();
  Tensor loss = ag::sum(w * x);
  {
    ag::NoGradGuard no_grad;
    w.mutable_data()[0] = 5.0f;
  }
  const std::string msg = backward_error(loss);
  EXPECT_NE(msg.find("mul"), std::string::npos) << msg;
  EXPECT_NE(msg.find("modified in place"), std::string::npos) << msg;
}

// mutable_data() follows the in-place ops' rule: no writes to a tensor that requires grad while
// grad mode is on.
TEST(InPlace, MutableDataOfATensorThatRequiresGradNeedsNoGradMode) {
  Tensor w = ag::ones({2}).requires_grad_();
  try {
    w.mutable_data();
    ADD_FAILURE() << "no ag::Error was raised";
  } catch (const ag::Error& e) {
    EXPECT_NE(std::string(e.what()).find("mutable_data"), std::string::npos) << e.what();
  }
  const Tensor fresh = ag::zeros({2});
  const uint64_t before = fresh.version();
  fresh.mutable_data()[1] = 1.0f;  // no grad needed: allowed, and counted
  EXPECT_EQ(fresh.version(), before + 1);
}

TEST(InPlace, ChangingATensorNoNodeSavedIsFine) {
  Tensor a = ag::ones({2}).requires_grad_();
  Tensor b = ag::ones({2}).requires_grad_();
  Tensor loss = ag::sum(a + b);  // add saves nothing
  {
    ag::NoGradGuard no_grad;
    a.add_(ag::ones({2}));
  }
  loss.backward();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{1, 1}));
}

}  // namespace
