#pragma once
// Reads the golden fixtures written by tests/fixtures/make_fixtures.py (layout in fixture_util.py)
// and compares attograd's results with them.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "nn/hdf5.h"
#include "nn/module.h"

namespace ag::testing {

/// One case of a fixture file: torch's state dict, inputs, outputs and gradients.
class FixtureCase {
 public:
  FixtureCase(std::shared_ptr<H5File> file, std::string name) : file_(std::move(file)), name_(std::move(name)) {}
  const std::string& name() const { return name_; }

  /// torch's state_dict() keys, in torch's order.
  std::vector<std::string> state_dict_keys() const { return file_->read_strings(path("state_dict_keys")); }
  /// torch's state dict, in torch's order.
  nn::NamedTensors state() const {
    nn::NamedTensors out;
    for (const std::string& key : state_dict_keys()) out.emplace_back(key, file_->read_tensor(path("state/" + key)));
    return out;
  }
  Tensor input(const std::string& n) const { return file_->read_tensor(path("inputs/" + n)); }
  IntTensor input_ints(const std::string& n) const { return file_->read_ints(path("inputs/" + n)); }
  bool has_input(const std::string& n) const { return file_->exists(path("inputs/" + n)); }
  Tensor output(const std::string& n) const { return file_->read_tensor(path("outputs/" + n)); }
  Tensor upstream(const std::string& n) const { return file_->read_tensor(path("upstream/" + n)); }
  Tensor grad(const std::string& param) const { return file_->read_tensor(path("grads/" + param)); }
  Tensor input_grad(const std::string& n) const { return file_->read_tensor(path("input_grads/" + n)); }
  int64_t attr_int(const std::string& n) const { return file_->attr_int("/" + name_, n); }
  double attr_double(const std::string& n) const { return file_->attr_double("/" + name_, n); }
  std::string attr_string(const std::string& n) const { return file_->attr_string("/" + name_, n); }
  H5File& file() const { return *file_; }

 private:
  std::string path(const std::string& rest) const { return "/" + name_ + "/" + rest; }
  std::shared_ptr<H5File> file_;
  std::string name_;
};

/// A fixture file under tests/fixtures (e.g. "layers.h5").
class Fixture {
 public:
  explicit Fixture(const std::string& file)
      : file_(std::make_shared<H5File>(std::string(ATTOGRAD_FIXTURE_DIR) + "/" + file, H5File::Mode::Read)) {}
  FixtureCase operator[](const std::string& name) const {
    EXPECT_TRUE(file_->exists("/" + name)) << "fixture case '" << name << "' is missing from " << file_->path();
    return FixtureCase(file_, name);
  }
  std::vector<std::string> cases() const { return file_->list("/"); }

 private:
  std::shared_ptr<H5File> file_;
};

/// Expects |actual - expected| <= atol + rtol |expected| elementwise, and prints the largest
/// difference as "[golden] what: max |diff| ..." (the closing notes quote these lines).
inline void expect_close(const Tensor& actual, const Tensor& expected, const std::string& what, double atol = 1e-5,
                         double rtol = 1e-4) {
  ASSERT_TRUE(actual.defined()) << what << ": attograd gave no tensor";
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  double worst = 0, worst_excess = 0;
  int64_t worst_at = -1;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual.data()[i], e = expected.data()[i];
    const double diff = std::fabs(a - e);
    if (!(diff <= worst)) worst = std::isnan(diff) ? INFINITY : diff;
    const double excess = diff / (atol + rtol * std::fabs(e));
    if (!(excess <= worst_excess)) worst_excess = std::isnan(excess) ? INFINITY : excess, worst_at = i;
  }
  std::printf("[golden] %s: max |diff| %.3g\n", what.c_str(), worst);
  EXPECT_LE(worst_excess, 1.0) << what << ": element " << worst_at << " is " << actual.data()[worst_at]
                               << ", torch has " << expected.data()[worst_at] << " (max |diff| " << worst << ")";
}

}  // namespace ag::testing
