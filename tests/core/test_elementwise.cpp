// Elementwise ops: values, gradchecks, and the table of broadcasting shape pairs.
#include <gtest/gtest.h>

#include <cmath>

#include "attograd/core/core.h"

namespace {

using ag::Shape;
using ag::Tensor;

Tensor param(const Shape& shape, uint64_t seed, float low = -1.0f, float high = 1.0f) {
  ag::Generator gen(seed);
  return ag::uniform(shape, low, high, gen).requires_grad_();
}

// Values bounded away from 0 by `gap` (for ops with a kink or a pole at 0), random signs.
Tensor away_from_zero(const Shape& shape, uint64_t seed, float gap = 0.2f) {
  ag::Generator gen(seed);
  Tensor x = ag::uniform(shape, gap, 1.0f, gen);
  for (int64_t i = 0; i < x.numel(); ++i)
    if (gen.uniform_at(gen.advance(1)) < 0.5f) x.data()[i] = -x.data()[i];
  return x.requires_grad_();
}

using Unary = Tensor (*)(const Tensor&);

void expect_unary_matches(Unary op, const std::function<double(double)>& reference, const Tensor& x) {
  const Tensor y = op(x);
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    EXPECT_NEAR(y.data()[i], reference(x.data()[i]), 1e-6 + 1e-6 * std::fabs(reference(x.data()[i])));
}

void expect_unary_gradcheck(Unary op, const Tensor& x, const char* name) {
  auto r = ag::gradcheck([op](const std::vector<Tensor>& in) { return op(in[0]); }, {x});
  EXPECT_TRUE(r.ok) << name << ": " << r.message;
}

TEST(Elementwise, UnaryValues) {
  Tensor x = param({3, 4}, 1, -2.0f, 2.0f);
  Tensor pos = param({3, 4}, 2, 0.2f, 3.0f);
  expect_unary_matches(ag::neg, [](double v) { return -v; }, x);
  expect_unary_matches(ag::exp, [](double v) { return std::exp(v); }, x);
  expect_unary_matches(ag::log, [](double v) { return std::log(v); }, pos);
  expect_unary_matches(ag::sqrt, [](double v) { return std::sqrt(v); }, pos);
  expect_unary_matches(ag::abs, [](double v) { return std::fabs(v); }, x);
  expect_unary_matches(ag::tanh, [](double v) { return std::tanh(v); }, x);
  expect_unary_matches(ag::sigmoid, [](double v) { return 1 / (1 + std::exp(-v)); }, x);
  expect_unary_matches(ag::relu, [](double v) { return v > 0 ? v : 0; }, x);
  expect_unary_matches(ag::gelu, [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }, x);
  const Tensor p = ag::pow(pos, 1.5f);
  for (int64_t i = 0; i < pos.numel(); ++i) EXPECT_NEAR(p.data()[i], std::pow(pos.data()[i], 1.5), 1e-5);
}

TEST(Elementwise, UnaryGradcheck) {
  expect_unary_gradcheck(ag::neg, param({3, 4}, 3), "neg");
  expect_unary_gradcheck(ag::exp, param({3, 4}, 4), "exp");
  expect_unary_gradcheck(ag::log, param({3, 4}, 5, 0.5f, 2.0f), "log");
  expect_unary_gradcheck(ag::sqrt, param({3, 4}, 6, 0.5f, 2.0f), "sqrt");
  expect_unary_gradcheck(ag::abs, away_from_zero({3, 4}, 7), "abs");
  expect_unary_gradcheck(ag::tanh, param({3, 4}, 8, -2.0f, 2.0f), "tanh");
  expect_unary_gradcheck(ag::sigmoid, param({3, 4}, 9, -3.0f, 3.0f), "sigmoid");
  expect_unary_gradcheck(ag::relu, away_from_zero({3, 4}, 10), "relu");
  expect_unary_gradcheck(ag::gelu, param({3, 4}, 11, -3.0f, 3.0f), "gelu");
  for (float p : {2.0f, 3.0f, 0.5f, -1.5f}) {
    auto r = ag::gradcheck([p](const std::vector<Tensor>& in) { return ag::pow(in[0], p); },
                           {param({3, 4}, 12, 0.5f, 2.0f)});
    EXPECT_TRUE(r.ok) << "pow " << p << ": " << r.message;
  }
}

TEST(Elementwise, ScalarOpsAndOperators) {
  Tensor x = ag::from_data({1, 2, 4}, {3});
  EXPECT_EQ((x + 1.0f).to_vector(), (std::vector<float>{2, 3, 5}));
  EXPECT_EQ((1.0f - x).to_vector(), (std::vector<float>{0, -1, -3}));
  EXPECT_EQ((x * 2.0f).to_vector(), (std::vector<float>{2, 4, 8}));
  EXPECT_EQ((x / 2.0f).to_vector(), (std::vector<float>{0.5f, 1, 2}));
  EXPECT_EQ((4.0f / x).to_vector(), (std::vector<float>{4, 2, 1}));
  EXPECT_EQ((-x).to_vector(), (std::vector<float>{-1, -2, -4}));
  const std::vector<std::function<Tensor(const Tensor&)>> ops = {
      [](const Tensor& t) { return t + 2.0f; },  [](const Tensor& t) { return 2.0f - t; },
      [](const Tensor& t) { return t * -3.0f; }, [](const Tensor& t) { return t / 4.0f; },
      [](const Tensor& t) { return 2.0f / t; }};
  for (size_t k = 0; k < ops.size(); ++k) {
    auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ops[k](in[0]); }, {param({2, 3}, 13, 0.5f, 2.0f)});
    EXPECT_TRUE(r.ok) << "scalar op " << k << ": " << r.message;
  }
}

// Each pair broadcasts; for add, sub, mul and div the result has the broadcast shape, each gradient
// has its input's shape, and the gradients pass gradcheck.
struct BroadcastCase {
  Shape a, b, out;
};
void PrintTo(const BroadcastCase& c, std::ostream* os) { *os << c.a << " with " << c.b << " -> " << c.out; }

// "2x1x3x4_with_2x1x3x1", so ctest lists each pair by its shapes.
std::string case_name(const ::testing::TestParamInfo<BroadcastCase>& info) {
  auto dims = [](const Shape& s) {
    std::string out = s.empty() ? "scalar" : "";
    for (size_t i = 0; i < s.size(); ++i) {
      if (i) out += 'x';
      out += std::to_string(s[i]);
    }
    return out;
  };
  return dims(info.param.a) + "_with_" + dims(info.param.b);
}

class BroadcastTable : public ::testing::TestWithParam<BroadcastCase> {};

TEST_P(BroadcastTable, ShapesAndGradients) {
  const BroadcastCase& c = GetParam();
  using Binary = Tensor (*)(const Tensor&, const Tensor&);
  const std::pair<const char*, Binary> ops[] = {
      {"add", ag::add}, {"sub", ag::sub}, {"mul", ag::mul}, {"div", ag::div}};
  for (const auto& entry : ops) {
    const char* name = entry.first;
    const Binary op = entry.second;  // a plain variable the lambdas capture (clang before 16 cannot capture a binding)
    Tensor a = param(c.a, 21), b = param(c.b, 22, 0.5f, 1.5f);  // b is a divisor: keep it from 0
    Tensor y = op(a, b);
    EXPECT_EQ(y.shape(), c.out) << name;
    ag::sum(y * y).backward();
    EXPECT_EQ(a.grad().shape(), c.a) << name;
    EXPECT_EQ(b.grad().shape(), c.b) << name;
    a.zero_grad();
    b.zero_grad();
    auto r = ag::gradcheck([op](const std::vector<Tensor>& in) { return op(in[0], in[1]); }, {a, b});
    EXPECT_TRUE(r.ok) << name << " " << c.a << " with " << c.b << ": " << r.message;
    r = ag::gradcheck([op](const std::vector<Tensor>& in) { return op(in[1], in[0]); }, {b, a});
    EXPECT_TRUE(r.ok) << name << " " << c.b << " with " << c.a << ": " << r.message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Elementwise, BroadcastTable,
    ::testing::Values(BroadcastCase{{2, 1, 3, 4}, {2, 1, 3, 1}, {2, 1, 3, 4}},  // (B,1,T,H) with (B,1,T,1)
                      BroadcastCase{{1}, {5, 4}, {5, 4}}, BroadcastCase{{4, 1}, {1, 4}, {4, 4}},
                      BroadcastCase{{2, 3, 4}, {4}, {2, 3, 4}}, BroadcastCase{{}, {2, 3}, {2, 3}},
                      BroadcastCase{{2, 1, 4}, {3, 1}, {2, 3, 4}}, BroadcastCase{{3, 1, 5}, {1, 4, 1}, {3, 4, 5}},
                      BroadcastCase{{2, 3}, {2, 3}, {2, 3}}, BroadcastCase{{1, 3, 1, 2}, {2, 1, 4, 1}, {2, 3, 4, 2}}),
    case_name);

TEST(Elementwise, BroadcastValues) {
  Tensor col = ag::from_data({1, 2}, {2, 1}), row = ag::from_data({10, 20, 30}, {1, 3});
  EXPECT_EQ((col + row).to_vector(), (std::vector<float>{11, 21, 31, 12, 22, 32}));
  EXPECT_EQ((row - col).to_vector(), (std::vector<float>{9, 19, 29, 8, 18, 28}));
  Tensor big = ag::arange(24).reshape({2, 3, 4});
  Tensor bias = ag::from_data({100, 200, 300}, {3, 1});
  Tensor y = big + bias;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(y.at({i, j, k}), big.at({i, j, k}) + bias.at({j, 0}));
}

TEST(Elementwise, LargeBroadcastMatchesNaiveLoop) {
  // Big enough to run the threaded path.
  ag::Generator gen(5);
  Tensor a = ag::randn({64, 1, 300}, gen), b = ag::randn({7, 1}, gen);
  Tensor y = a * b;
  ASSERT_EQ(y.shape(), Shape({64, 7, 300}));
  for (int64_t i = 0; i < 64; i += 9)
    for (int64_t j = 0; j < 7; ++j)
      for (int64_t k = 0; k < 300; k += 13) EXPECT_EQ(y.at({i, j, k}), a.at({i, 0, k}) * b.at({j, 0}));
}

}  // namespace
