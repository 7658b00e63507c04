#pragma once
// gradcheck: compares the gradients backward() computes with central finite differences.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attograd/core/tensor.h"

namespace ag {

struct GradcheckOptions {
  float eps = 1e-3f;   // finite-difference step (keep inputs further than eps from kinks)
  // An element passes when |analytic - numeric| <= atol + rtol * |numeric| + noise, noise the bound
  // on the float32 rounding error of the numeric side (below). atol covers the truncation error of
  // the central difference (f''' eps^2 / 6) and the rounding of the analytic gradient, rtol a
  // relative error of it.
  float atol = 1e-3f;
  float rtol = 1e-2f;
  uint64_t seed = 1234;  // for the fixed random weighting of the output
  // f runs in float32, so each output y_j comes back with a rounding error; gradcheck assumes it
  // is at most noise_growth * u * |y_j| (u = 2^-24) and adds the resulting bound on the error of
  // the difference quotient to each element's tolerance (gradcheck.cpp has the derivation). Raise
  // it for a function whose outputs are ill-conditioned (a small difference of large terms).
  float noise_growth = 4.0f;
};

/// The outcome, and when it fails, the worst element (the one furthest past its tolerance).
struct GradcheckResult {
  bool ok = true;
  int64_t input = -1;   // which input
  int64_t index = -1;   // flat index of the element in that input
  float analytic = 0;   // d(loss)/d(element) from backward()
  float numeric = 0;    // the same from central differences
  float tolerance = 0;  // the element's tolerance: atol + rtol * |numeric| + noise
  float noise = 0;      // ... of which the bound on the float32 rounding error of `numeric`
  std::string message;  // a readable report of the above ("" when ok)
  explicit operator bool() const { return ok; }
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

/// Checks d/dx of loss = sum(w * f(inputs)) for every input that requires grad, w a fixed random
/// weighting (so the upstream gradient is not all ones). The loss is summed in double; the float32
/// rounding of f itself, divided by the step, is bounded and allowed for in each element's
/// tolerance. torch.autograd.gradcheck, for users' own ops and layers.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace ag
