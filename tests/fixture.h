#pragma once
// Reads the golden fixtures written by tests/fixtures/make_fixtures.py (layout in fixture_util.py)
// and compares attograd's results with them.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attograd/nn/hdf5.h"
#include "attograd/nn/module.h"

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

/// float32 unit roundoff.
inline constexpr double kUnitRoundoff = 0x1.0p-24;

/// The default growth factor of expect_close: attograd and torch compute the same float32 math in
/// different orders (their own GEMM blockings, reductions, exp/tanh), so each is the exact value
/// plus its own rounding error, and a golden comparison can only ask that they agree to what
/// float32 rounding allows:
///
///     |attograd - torch| <= growth * u * scale,   u = 2^-24,
///     scale = max(max |attograd|, max |torch|) over the tensor
///
/// - scale: the fixtures' tensors (activations, gradients, parameters) are O(1) and built from
///   values of their own magnitude, so a rounding upstream moves an element by a multiple of u
///   times the tensor's max-abs, not of the element: a gradient element that is a small
///   difference of O(1) terms carries their absolute error. (An element-relative rtol is what
///   failed the fixture check on another CPU.)
/// - growth: each rounding adds a relative error <= u of the values it combines (a sum of n terms
///   rounds n - 1 times). The deepest golden case, the 2 + 2-layer Transformer's parameter
///   gradients, has D ~ 1000 of them feeding a gradient (tests/fixtures/check_fixtures.py counts
///   them layer by layer). Independent, centred rounding errors add in quadrature (Higham & Mary,
///   SIAM J. Sci. Comput. 41(5), 2019): one side's error is about sqrt(D) u scale = 32 u scale (an
///   upper estimate: every rounding counted at full weight), the difference of two independent
///   sides sqrt(2) * 32 = 45 u scale, and the bound allows ~3 times that: 128.
/// 128 u is 7.6e-6 of a tensor's scale: tight enough that a wrong summation order or a lost
/// rounding step in a kernel shows, where a fixed atol 1e-5 + rtol 1e-4 would allow 1.1e-4 at scale 1.
inline constexpr double kGoldenGrowth = 128;

/// What u is multiplied by in expect_close: the tensor's max-abs (values computed together, of one
/// magnitude), or each element's own magnitude (independent scalars, e.g. a schedule's lrs).
enum class Scale { Tensor, Element };

/// Expects |actual - expected| <= growth * u * scale for every element (see kGoldenGrowth), and
/// prints the largest difference as "[golden] what: max |diff| ... (... u * scale)" (the closing
/// notes quote these lines).
inline void expect_close(const Tensor& actual, const Tensor& expected, const std::string& what,
                         double growth = kGoldenGrowth, Scale scale = Scale::Tensor) {
  ASSERT_TRUE(actual.defined()) << what << ": attograd gave no tensor";
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  double tensor_scale = 0;
  for (int64_t i = 0; i < actual.numel(); ++i)
    tensor_scale = std::max({tensor_scale, std::fabs(static_cast<double>(actual.data()[i])),
                             std::fabs(static_cast<double>(expected.data()[i]))});
  double worst = 0, worst_units = 0;  // the largest |diff|, and the largest |diff| / (u * scale)
  int64_t worst_at = -1;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual.data()[i], e = expected.data()[i];
    const double diff = std::fabs(a - e);
    if (!(diff <= worst)) worst = std::isnan(diff) ? INFINITY : diff;
    const double s = scale == Scale::Tensor ? tensor_scale : std::max(std::fabs(a), std::fabs(e));
    const double units = diff == 0 ? 0.0 : diff / (kUnitRoundoff * s);
    if (!(units <= worst_units)) worst_units = std::isnan(units) ? INFINITY : units, worst_at = i;
  }
  fmt::print("[golden] {}: max |diff| {:.3g} ({:.1f} u * scale)\n", what, worst, worst_units);
  EXPECT_LE(worst_units, growth) << what << ": element " << worst_at << " is " << actual.data()[worst_at]
                                 << ", torch has " << expected.data()[worst_at] << " (max |diff| " << worst
                                 << " = " << worst_units << " u * "
                                 << (scale == Scale::Tensor ? fmt::format("scale {:.4g}", tensor_scale) : "|element|")
                                 << ", allowed " << growth << ")";
}

}  // namespace ag::testing
