#pragma once
// gradcheck: compares the gradients backward() computes with central finite differences.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ag {

struct GradcheckOptions {
  float eps = 1e-3f;   // finite-difference step (keep inputs further than eps from kinks)
  float atol = 1e-3f;  // an element passes when |analytic - numeric| <= atol + rtol * |numeric|
  float rtol = 1e-2f;
  uint64_t seed = 1234;  // for the fixed random weighting of the output
};

/// The outcome, and when it fails, the worst element (the one furthest past its tolerance).
struct GradcheckResult {
  bool ok = true;
  int64_t input = -1;   // which input
  int64_t index = -1;   // flat index of the element in that input
  float analytic = 0;   // d(loss)/d(element) from backward()
  float numeric = 0;    // the same from central differences
  std::string message;  // a readable report of the above ("" when ok)
  explicit operator bool() const { return ok; }
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

/// Checks d/dx of loss = sum(w * f(inputs)) for every input that requires grad, w a fixed random
/// weighting (so the upstream gradient is not all ones). The loss is summed in double, so float32
/// rounding of f stays below the tolerance. torch.autograd.gradcheck, for users' own ops and layers.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace ag
