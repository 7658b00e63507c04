#include "core/gradcheck.h"

#include <cmath>

#include "core/autograd.h"
#include "core/error.h"
#include "core/random.h"

namespace ag {

namespace {

// sum_i w_i y_i in double.
double weighted_sum(const Tensor& y, const Tensor& w) {
  double acc = 0;
  for (int64_t i = 0; i < y.numel(); ++i) acc += static_cast<double>(w.data()[i]) * y.data()[i];
  return acc;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  bool any = false;
  for (const Tensor& x : inputs) {
    check(x.defined(), "gradcheck: an input is undefined");
    check(x.is_leaf(), "gradcheck: inputs must be leaves (made by the user, not by an op)");
    any |= x.requires_grad();
  }
  check(any, "gradcheck: no input requires grad; mark the ones to check with requires_grad_()");

  // Analytic: one backward of sum(w * y).
  for (const Tensor& x : inputs) x.zero_grad();
  Tensor y = f(inputs);
  check(y.requires_grad(), "gradcheck: the output does not depend on any input that requires grad");
  Generator gen(options.seed);
  const Tensor w = randn(y.shape(), gen);
  y.backward(w);

  GradcheckResult result;
  double worst_excess = 0;  // |a - n| / tolerance of the worst element so far
  NoGradGuard no_grad;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    const Tensor grad = x.grad();
    float* px = x.data();  // perturbed in place without a version bump: the graph is already gone
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float original = px[i];
      px[i] = original + options.eps;
      const double plus = weighted_sum(f(inputs), w);
      px[i] = original - options.eps;
      const double minus = weighted_sum(f(inputs), w);
      px[i] = original;
      const double numeric = (plus - minus) / (2.0 * options.eps);
      const double analytic = grad.defined() ? grad.data()[i] : 0.0;
      const double tolerance = options.atol + options.rtol * std::fabs(numeric);
      const double excess = std::fabs(analytic - numeric) / tolerance;
      if (!(excess <= 1.0) && (result.ok || excess > worst_excess || std::isnan(excess))) {
        worst_excess = std::isnan(excess) ? INFINITY : excess;
        result.ok = false;
        result.input = static_cast<int64_t>(k);
        result.index = i;
        result.analytic = static_cast<float>(analytic);
        result.numeric = static_cast<float>(numeric);
      }
    }
  }
  for (const Tensor& x : inputs) x.zero_grad();
  if (!result.ok)
    result.message = fmt::format(
        "gradcheck failed: worst element is input {} (shape {}) flat index {}: analytic {:.6g}, numeric {:.6g} "
        "(|difference| {:.3g} > tolerance {:.3g})",
        result.input, inputs[result.input].shape(), result.index, result.analytic, result.numeric,
        std::fabs(result.analytic - result.numeric), options.atol + options.rtol * std::fabs(result.numeric));
  return result;
}

}  // namespace ag
