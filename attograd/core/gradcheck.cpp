#include "attograd/core/gradcheck.h"

#include <cmath>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/random.h"

namespace ag {

namespace {

// sum_j w_j y_j and sum_j |w_j y_j|, in double.
struct WeightedSum {
  double loss = 0;
  double scale = 0;
};

WeightedSum weighted_sum(const Tensor& y, const Tensor& w) {
  check(y.shape() == w.shape(), "gradcheck: f returned shape {} for a perturbed input, {} unperturbed", y.shape(),
        w.shape());
  WeightedSum s;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const double t = static_cast<double>(w.data()[i]) * y.data()[i];
    s.loss += t;
    s.scale += std::fabs(t);
  }
  return s;
}

}  // namespace

// The numeric side and its error. For element x of an input, with x+ and x- the float32 values
// x + eps and x - eps actually evaluated (rounded, so the step is x+ - x-, exact in double, not 2 eps):
//
//     numeric = (L(x+) - L(x-)) / (x+ - x-),   L = sum_j w_j y_j summed in double.
//
// f runs in float32: each output comes back as y_j + d_j. We take |d_j| <= g u |y_j|, u = 2^-24 the
// float32 unit roundoff and g = options.noise_growth, so the computed loss is off by at most
// g u S, S = sum_j |w_j y_j| (the double summation adds n 2^-53 S, nothing). Both evaluations carry
// such an error and the quotient divides their difference by the step:
//
//     |numeric - (exact difference quotient)| <= noise = g u (S(x+) + S(x-)) / (x+ - x-).
//
// The exact difference quotient is the derivative up to the truncation error f''' eps^2 / 6 (1e-7
// for |f'''| ~ 1 at eps 1e-3), which atol covers with the rounding of the analytic gradient (a few
// u of the terms backward sums, ~1e-7 here). So an element passes when
//
//     |analytic - numeric| <= atol + rtol |numeric| + noise.
//
// The noise term is needed because atol alone cannot cover the rounding of f itself: a Transformer
// whose 6 per-position losses give S ~ 16 has noise ~ 4 * 6e-8 * 32 / 2e-3 = 3.8e-3, and float32
// central differences of such a model differ from a float64 PyTorch gradient by up to 1.2e-3,
// more than an atol of 1e-3: on a small derivative (-0.0028 analytic, agreeing with float64 to
// 6e-8) the numeric side can read anywhere from -0.0018 to -0.0025 depending on the build.
//
// g: S sums |w_j y_j| over all outputs, and the bound needs sum_j |w_j d_j| <= g u S, i.e. g at
// least the |w_j y_j|-weighted average of the outputs' relative rounding errors. An output of a
// well-conditioned computation carries its last op's rounding (<= u) plus its inputs' errors
// passed on with a condition number ~1; layer norms, softmaxes and saturating gates damp errors
// from further upstream instead of growing them. g = 4 allows four roundings at full weight. (The
// largest weighted error measured over every gradcheck in tests/, with g++ -O2 and -O3 and clang
// -O2, was 1.8 u S, in an LSTM over 5 steps.) Outputs that did not
// change between x+ and x- are not left out of S: an output that depends on x only below its
// rounding shows no change, and what it misses is bounded by the same term. Outputs computed with
// cancellation (a tiny difference of large terms) have larger relative errors: pass a larger
// noise_growth for them.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  bool any = false;
  for (const Tensor& x : inputs) {
    check(x.defined(), "gradcheck: an input is undefined");
    check(x.is_leaf(), "gradcheck: inputs must be leaves (made by the user, not by an op)");
    any |= x.requires_grad();
  }
  check(any, "gradcheck: no input requires grad; mark the ones to check with requires_grad_()");
  check(options.eps > 0 && options.noise_growth >= 0, "gradcheck: eps {} must be > 0 and noise_growth {} >= 0",
        options.eps, options.noise_growth);

  // Analytic: one backward of sum(w * y).
  for (const Tensor& x : inputs) x.zero_grad();
  Tensor y = f(inputs);
  check(y.requires_grad(), "gradcheck: the output does not depend on any input that requires grad");
  Generator gen(options.seed);
  const Tensor w = randn(y.shape(), gen);
  y.backward(w);

  constexpr double u = 0x1.0p-24;  // float32 unit roundoff
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
      // Each output is summed before the next perturbation: f may return a view of an input.
      px[i] = original + options.eps;
      const double x_plus = px[i];
      const WeightedSum plus = weighted_sum(f(inputs), w);
      px[i] = original - options.eps;
      const double x_minus = px[i];
      const WeightedSum minus = weighted_sum(f(inputs), w);
      px[i] = original;
      const double step = x_plus - x_minus;
      check(step > 0, "gradcheck: eps {} vanishes next to input {} element {} = {} in float32", options.eps, k, i,
            original);
      const double numeric = (plus.loss - minus.loss) / step;
      const double analytic = grad.defined() ? grad.data()[i] : 0.0;
      const double noise = options.noise_growth * u * (plus.scale + minus.scale) / step;
      const double tolerance = options.atol + options.rtol * std::fabs(numeric) + noise;
      const double excess = std::fabs(analytic - numeric) / tolerance;
      if (!(excess <= 1.0) && (result.ok || excess > worst_excess || std::isnan(excess))) {
        worst_excess = std::isnan(excess) ? INFINITY : excess;
        result.ok = false;
        result.input = static_cast<int64_t>(k);
        result.index = i;
        result.analytic = static_cast<float>(analytic);
        result.numeric = static_cast<float>(numeric);
        result.tolerance = static_cast<float>(tolerance);
        result.noise = static_cast<float>(noise);
      }
    }
  }
  for (const Tensor& x : inputs) x.zero_grad();
  if (!result.ok)
    result.message = fmt::format(
        "gradcheck failed: worst element is input {} (shape {}) flat index {}: analytic {:.6g}, numeric {:.6g} "
        "(|difference| {:.3g} > tolerance {:.3g} = atol {:.3g} + rtol * |numeric| {:.3g} + float32 noise {:.3g})",
        result.input, inputs[result.input].shape(), result.index, result.analytic, result.numeric,
        std::fabs(result.analytic - result.numeric), result.tolerance, options.atol,
        options.rtol * std::fabs(result.numeric), result.noise);
  return result;
}

}  // namespace ag
