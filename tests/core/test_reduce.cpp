// Reductions: sum, mean, max, argmax, sum_to and expand.
#include <gtest/gtest.h>

#include "attograd/core/core.h"

namespace {

using ag::Shape;
using ag::Tensor;

Tensor param(const Shape& shape, uint64_t seed) {
  ag::Generator gen(seed);
  return ag::uniform(shape, -1.0f, 1.0f, gen).requires_grad_();
}

TEST(Reduce, SumAndMeanValues) {
  Tensor x = ag::arange(24).reshape({2, 3, 4});
  EXPECT_EQ(ag::sum(x).item(), 276.0f);
  EXPECT_EQ(ag::sum(x).shape(), Shape{});
  EXPECT_EQ(ag::mean(x).item(), 11.5f);
  Tensor s1 = ag::sum(x, {1});
  EXPECT_EQ(s1.shape(), Shape({2, 4}));
  EXPECT_EQ(s1.at({1, 2}), 14.0f + 18.0f + 22.0f);
  Tensor s02 = ag::sum(x, {0, 2}, true);
  EXPECT_EQ(s02.shape(), Shape({1, 3, 1}));
  EXPECT_EQ(s02.at({0, 1, 0}), (4 + 5 + 6 + 7) + (16 + 17 + 18 + 19));
  EXPECT_EQ(ag::sum(x, {-1}).shape(), Shape({2, 3}));
  EXPECT_EQ(ag::mean(x, {0, 1}).to_vector(), (std::vector<float>{10, 11, 12, 13}));
  EXPECT_EQ(ag::sum(ag::zeros({0, 3}), {0}).to_vector(), (std::vector<float>{0, 0, 0}));
}

TEST(Reduce, SumGradcheck) {
  const std::vector<std::vector<int64_t>> dim_sets = {{}, {0}, {1}, {2}, {0, 2}, {1, 2}, {-1}, {0, 1, 2}};
  for (const auto& dims : dim_sets)
    for (bool keepdim : {false, true}) {
      auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::sum(in[0], dims, keepdim); },
                             {param({2, 3, 4}, 1)});
      EXPECT_TRUE(r.ok) << "sum dims " << dims.size() << " keepdim " << keepdim << ": " << r.message;
      r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::mean(in[0], dims, keepdim); },
                        {param({2, 3, 4}, 2)});
      EXPECT_TRUE(r.ok) << "mean: " << r.message;
    }
}

TEST(Reduce, MaxAndArgmax) {
  Tensor x = ag::from_data({1, 5, 3, 7, 2, 7}, {2, 3});
  auto [values, indices] = ag::max(x, 1);
  EXPECT_EQ(values.to_vector(), (std::vector<float>{5, 7}));
  EXPECT_EQ(indices.to_vector(), (std::vector<int64_t>{1, 0}));  // first occurrence on ties
  EXPECT_EQ(ag::argmax(x, 0).to_vector(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(ag::argmax(x, -1, true).shape(), Shape({2, 1}));
  EXPECT_EQ(ag::max(x, 0, true).values.shape(), Shape({1, 3}));
}

TEST(Reduce, MaxGradcheck) {
  // Distinct values, so the argmax does not jump under a small perturbation.
  Tensor x = ag::from_data({0.1f, 0.9f, -0.5f, 0.4f, 0.7f, -0.2f, 0.3f, 0.0f, -0.8f, 0.6f, 0.2f, -0.4f}, {2, 3, 2})
                 .requires_grad_();
  for (int64_t dim : {0, 1, 2}) {
    auto r = ag::gradcheck([dim](const std::vector<Tensor>& in) { return ag::max(in[0], dim).values; }, {x});
    EXPECT_TRUE(r.ok) << "max dim " << dim << ": " << r.message;
  }
}

TEST(Reduce, SumToAndExpandAreAdjoint) {
  Tensor g = ag::arange(24).reshape({2, 3, 4});
  Tensor s = ag::sum_to(g, {3, 1});
  EXPECT_EQ(s.shape(), Shape({3, 1}));
  EXPECT_EQ(s.at({0, 0}), (0 + 1 + 2 + 3) + (12 + 13 + 14 + 15));
  EXPECT_THROW(ag::sum_to(g, {2, 4}), ag::Error);
  Tensor e = ag::expand(ag::from_data({1, 2, 3}, {3, 1}), {2, 3, 4});
  EXPECT_EQ(e.at({1, 2, 3}), 3.0f);
  auto r = ag::gradcheck([](const std::vector<Tensor>& in) { return ag::expand(in[0], {2, 3, 4}); }, {param({3, 1}, 3)});
  EXPECT_TRUE(r.ok) << r.message;
  r = ag::gradcheck([](const std::vector<Tensor>& in) { return ag::sum_to(in[0], {1, 4}); }, {param({2, 3, 4}, 4)});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Reduce, LongRowsAccumulateInDouble) {
  // 2^24 + 1 ones: a float accumulator would stop at 2^24.
  Tensor x = ag::ones({(1 << 24) + 1});
  EXPECT_EQ(ag::sum(x).item(), static_cast<float>((1 << 24) + 1) );
}

}  // namespace
