// Tensor handles, creation, element access, printing and IntTensor.
#include <gtest/gtest.h>

#include "attograd/core/core.h"

namespace {

using ag::Shape;
using ag::Tensor;

TEST(Tensor, CreationAndShape) {
  Tensor z = ag::zeros({2, 3});
  EXPECT_EQ(z.shape(), Shape({2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dim(), 2);
  EXPECT_EQ(z.size(-1), 3);
  for (float v : z.to_vector()) EXPECT_EQ(v, 0.0f);
  for (float v : ag::ones({4}).to_vector()) EXPECT_EQ(v, 1.0f);
  for (float v : ag::full({2, 2}, 2.5f).to_vector()) EXPECT_EQ(v, 2.5f);
  EXPECT_EQ(ag::scalar(3.0f).shape(), Shape{});
  EXPECT_EQ(ag::scalar(3.0f).item(), 3.0f);
  EXPECT_EQ(ag::arange(4).to_vector(), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(ag::arange(1.0f, 2.0f, 0.25f).to_vector(), (std::vector<float>{1.0f, 1.25f, 1.5f, 1.75f}));
  EXPECT_EQ(ag::zeros_like(z).shape(), z.shape());
}

TEST(Tensor, FromDataAndElementAccess) {
  Tensor x = ag::from_data({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(x.at({0, 0}), 1.0f);
  EXPECT_EQ(x.at({1, 2}), 6.0f);
  EXPECT_EQ(x.at({-1, -1}), 6.0f);
  EXPECT_THROW(x.at({2, 0}), ag::Error);
  EXPECT_THROW(x.at({0}), ag::Error);
  EXPECT_THROW(ag::from_data({1, 2, 3}, {2, 2}), ag::Error);
  EXPECT_THROW(x.item(), ag::Error);
  x.set({0, 1}, 9.0f);
  EXPECT_EQ(x.at({0, 1}), 9.0f);
}

TEST(Tensor, HandlesShareStorage) {
  Tensor x = ag::zeros({2, 3});
  Tensor alias = x;
  alias.fill_(1.0f);
  EXPECT_EQ(x.at({1, 1}), 1.0f);
  Tensor v = x.reshape({3, 2});  // a view: no copy
  EXPECT_EQ(v.storage(), x.storage());
  v.set({2, 1}, 7.0f);
  EXPECT_EQ(x.at({1, 2}), 7.0f);
  EXPECT_EQ(x.reshape({-1}).shape(), Shape({6}));
  EXPECT_EQ(x.view({1, -1, 2}).shape(), Shape({1, 3, 2}));
  EXPECT_THROW(x.reshape({4, -1}), ag::Error);
  EXPECT_THROW(x.reshape({-1, -1}), ag::Error);
  Tensor d = x.detach();
  EXPECT_EQ(d.storage(), x.storage());
  Tensor c = x.clone();
  EXPECT_NE(c.storage(), x.storage());
  EXPECT_EQ(c.to_vector(), x.to_vector());
}

TEST(Tensor, VersionCounterCountsInPlaceWrites) {
  Tensor x = ag::zeros({3});
  const uint64_t v0 = x.version();
  x.fill_(1.0f);
  x.add_(ag::ones({3}), 2.0f);
  x.mul_(0.5f);
  EXPECT_EQ(x.version(), v0 + 3);
  EXPECT_EQ(x.to_vector(), (std::vector<float>{1.5f, 1.5f, 1.5f}));
  EXPECT_EQ(x.reshape({1, 3}).version(), x.version());  // views share the counter
}

TEST(Tensor, UndefinedTensorRaisesClearly) {
  Tensor u;
  EXPECT_FALSE(u.defined());
  try {
    (void)u.shape();
    FAIL();
  } catch (const ag::Error& e) {
    EXPECT_NE(std::string(e.what()).find("undefined"), std::string::npos);
  }
}

TEST(Tensor, Printer) {
  Tensor x = ag::from_data({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(fmt::format("{}", x), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=(2, 2))");
  EXPECT_EQ(fmt::format("{}", ag::scalar(0.5f)), "tensor(0.5000, shape=())");
  const std::string big = fmt::format("{}", ag::arange(100));
  EXPECT_NE(big.find("..."), std::string::npos);
  EXPECT_NE(big.find("99.0000"), std::string::npos);
  Tensor w = ag::ones({2}).requires_grad_();
  EXPECT_NE(fmt::format("{}", w).find("requires_grad"), std::string::npos);
  EXPECT_NE(fmt::format("{}", ag::tanh(w)).find("grad_fn=tanh"), std::string::npos);
  EXPECT_EQ(fmt::format("{}", ag::Shape{32, 200, 127}), "(32, 200, 127)");
}

TEST(IntTensor, Basics) {
  ag::IntTensor ids({3, 1, 4, 1, 5, 9}, {2, 3});
  EXPECT_EQ(ids.shape(), Shape({2, 3}));
  EXPECT_EQ(ids.at({1, 2}), 9);
  EXPECT_EQ(ids.reshape({-1}).shape(), Shape({6}));
  EXPECT_EQ(ag::IntTensor::full({2}, 7).to_vector(), (std::vector<int64_t>{7, 7}));
  EXPECT_THROW(ag::IntTensor({1, 2, 3}, {2}), ag::Error);
  EXPECT_EQ(fmt::format("{}", ag::IntTensor({1, 2}, {2})), "IntTensor([1, 2], shape=(2))");
}

}  // namespace
