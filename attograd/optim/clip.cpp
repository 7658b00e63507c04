#include "attograd/optim/clip.h"

#include <algorithm>
#include <cmath>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/profiler.h"
#include "attograd/core/threads.h"

namespace ag::optim {

namespace {

NamedTensors numbered(const std::vector<Tensor>& params) {
  NamedTensors out;
  for (size_t i = 0; i < params.size(); ++i) out.emplace_back(fmt::format("#{}", i), params[i]);
  return out;
}

// Sum of g^2 over [begin, end) in double: 8 running sums (element i goes to sum i % 8, so the
// loop vectorises), added pairwise at the end; a fixed order, whatever the machine.
double sum_of_squares(const float* g, int64_t begin, int64_t end) {
  double lane[8] = {};
  int64_t i = begin;
  for (; i + 8 <= end; i += 8)
    for (int l = 0; l < 8; ++l) {
      const double a = g[i + l];
      lane[l] += a * a;
    }
  for (int l = 0; i < end; ++i, ++l) {
    const double a = g[i];
    lane[l] += a * a;
  }
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// Sum of |g|^p (or max |g| for p = inf) over n floats, in double. The partial sums of fixed
// 4096-element blocks are added in block order, so the result does not depend on the thread count.
double norm_power_sum(const float* g, int64_t n, double p) {
  constexpr int64_t block = 4096;
  const int64_t blocks = (n + block - 1) / block;
  std::vector<double> partial(blocks, 0.0);
  parallel_for(blocks, 8, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      if (p == 2) {  // the usual norm: its own loop
        partial[b] = sum_of_squares(g, b * block, std::min(n, (b + 1) * block));
        continue;
      }
      double acc = 0;
      for (int64_t i = b * block; i < std::min(n, (b + 1) * block); ++i) {
        const double a = std::fabs(static_cast<double>(g[i]));
        if (std::isinf(p)) acc = std::isnan(a) || a > acc ? a : acc;  // a NaN sticks
        else if (p == 1) acc += a;
        else acc += std::pow(a, p);
      }
      partial[b] = acc;
    }
  });
  double total = 0;
  for (double v : partial) total = std::isinf(p) ? (std::isnan(v) || v > total ? v : total) : total + v;
  return total;
}

}  // namespace

// total = (sum_i |g_i|^p)^(1/p) over every gradient element;  g *= max_norm / (total + 1e-6) if < 1
double clip_grad_norm_(const NamedTensors& params, double max_norm, double norm_type) {
  const profile::OpScope scope("clip_grad_norm_", {});
  check(norm_type > 0, "clip_grad_norm_: norm_type {} must be positive", norm_type);
  check(max_norm >= 0, "clip_grad_norm_: max_norm {} is negative", max_norm);
  double sum = 0;
  for (const auto& [_, p] : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const double s = norm_power_sum(g.data(), g.numel(), norm_type);
    sum = std::isinf(norm_type) ? (std::isnan(s) || s > sum ? s : sum) : sum + s;
  }
  const double total = std::isinf(norm_type) ? sum : std::pow(sum, 1.0 / norm_type);
  if (!std::isfinite(total)) {
    std::string culprit = "(none: the norm overflowed)";
    for (const auto& [name, p] : params) {
      const Tensor g = p.grad();
      if (!g.defined()) continue;
      const float* d = g.data();
      if (std::any_of(d, d + g.numel(), [](float v) { return !std::isfinite(v); })) {
        culprit = "'" + name + "'";
        break;
      }
    }
    throw Error(fmt::format("clip_grad_norm_: the total gradient norm is {}; first non-finite gradient: {}; "
                            "gradients left unchanged (lower the learning rate or skip this batch)",
                            total, culprit));
  }
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1) {
    NoGradGuard no_grad;
    for (const auto& [_, p] : params) {
      Tensor g = p.grad();
      if (g.defined()) g.mul_(static_cast<float>(coef));
    }
  }
  return total;
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  return clip_grad_norm_(numbered(params), max_norm, norm_type);
}

// g = clamp(g, -c, c)
void clip_grad_value_(const NamedTensors& params, double clip_value) {
  check(clip_value >= 0, "clip_grad_value_: clip_value {} is negative", clip_value);
  const float c = static_cast<float>(clip_value);
  for (const auto& [_, p] : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    float* d = g.mutable_data();
    parallel_for(g.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) d[i] = std::clamp(d[i], -c, c);
    });
  }
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  clip_grad_value_(numbered(params), clip_value);
}

}  // namespace ag::optim
