#pragma once
// Helpers shared by the test suites.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

#include "attograd/core/error.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/random.h"
#include "attograd/core/tensor.h"
#include "attograd/nn/module.h"

namespace ag::testing {

/// The message of the ag::Error that f() raises; "" and a test failure when it raises none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ag::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ag::Error was raised";
  return "";
}

/// Expects every one of `parts` (an op name, a shape...) to appear in an error message.
inline void expect_mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' is missing from: " << message;
}

/// A fresh folder under the temp dir, named after the process and the test, removed with the object.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int counter = 0;
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path = std::filesystem::temp_directory_path() /
           ("attograd-" + std::to_string(::getpid()) + "-" + (test ? test->name() : "test") + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

/// A leaf that requires grad, with N(mean, scale^2) values from a generator seeded with `seed`.
inline Tensor random_leaf(Shape shape, uint64_t seed, float scale = 1.0f, float mean = 0.0f) {
  Generator gen(seed);
  return normal(std::move(shape), mean, scale, gen).requires_grad_();
}

/// Values uniform in [-1, 1) from a generator seeded with `seed`: a leaf that requires grad, or a
/// constant when `requires_grad` is false.
inline Tensor random_tensor(const Shape& shape, uint64_t seed, bool requires_grad = true) {
  Generator gen(seed);
  Tensor t = uniform(shape, -1.0f, 1.0f, gen);
  return requires_grad ? t.requires_grad_() : t;
}

/// "Equal" between float32 results of different shapes (padded vs unpadded, batched vs one at a
/// time): within a relative 1e-5 (docs/design.md), with a floor of 1 on the scale.
inline void expect_equal_rel(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const float x = a.data()[i], y = b.data()[i];
    EXPECT_LE(std::fabs(x - y), 1e-5f * std::max({1.0f, std::fabs(x), std::fabs(y)})) << what << " at " << i;
  }
}

/// Every element finite (no NaN, no inf).
inline void expect_finite(const Tensor& t, const std::string& what) {
  ASSERT_TRUE(t.defined()) << what;
  for (float v : t.to_vector()) ASSERT_TRUE(std::isfinite(v)) << what;
}

/// The names of (name, tensor) pairs, in order; of a module: its state dict's names.
inline std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, _] : named) out.push_back(name);
  return out;
}
inline std::vector<std::string> names_of(const nn::Module& m) { return names_of(m.state_dict()); }

/// The same names in the same order with the same shapes and bit-for-bit the same values (a resumed
/// run against an uninterrupted one); a difference names the tensor and its largest gap.
inline void expect_bitwise_equal(const NamedTensors& a, const NamedTensors& b, const std::string& what) {
  ASSERT_EQ(names_of(a), names_of(b)) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].second.shape(), b[i].second.shape()) << a[i].first << " " << what;
    const std::vector<float> va = a[i].second.to_vector(), vb = b[i].second.to_vector();
    float worst = 0;
    for (size_t k = 0; k < va.size(); ++k) worst = std::max(worst, std::fabs(va[k] - vb[k]));
    EXPECT_TRUE(va == vb) << a[i].first << " differs " << what << " by up to " << worst;
  }
}

}  // namespace ag::testing
