#include "attograd/core/ops/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/kernels.h"
#include "attograd/core/ops/index.h"
#include "attograd/core/ops/softmax.h"
#include "attograd/core/profiler.h"

namespace ag {

namespace {

// Combines per-element losses into the op's output: `shape` for None, () for Mean and Sum. Sums in
// double, in order, so the result never depends on the thread count. Mean over count = 0 gives 0.
Tensor reduce_losses(const std::vector<double>& losses, const Shape& shape, Reduction reduction, int64_t count) {
  if (reduction == Reduction::None) {
    Tensor out = empty(shape);
    std::transform(losses.begin(), losses.end(), out.data(), [](double v) { return static_cast<float>(v); });
    return out;
  }
  double total = 0;
  for (double v : losses) total += v;
  if (reduction == Reduction::Mean) total = count > 0 ? total / static_cast<double>(count) : 0.0;
  return scalar(static_cast<float>(total));
}

// The upstream gradient of element i's loss: dy[i] for None, dy / count for Mean, dy for Sum.
struct Upstream {
  const float* each = nullptr;  // None: one per element
  float all = 0;                // Mean and Sum: the same for every element
  float operator[](int64_t i) const { return each ? each[i] : all; }
};

Upstream upstream(const Tensor& dy, Reduction reduction, int64_t count) {
  if (reduction == Reduction::None) return {dy.data(), 0.0f};
  const float g = dy.item();
  if (reduction == Reduction::Sum) return {nullptr, g};
  return {nullptr, count > 0 ? static_cast<float>(g / static_cast<double>(count)) : 0.0f};
}

}  // namespace

// ---- cross-entropy ------------------------------------------------------------------------------

namespace {

// logits (rows, c), targets (rows) -> loss (rows); row_max, log_sum (rows) saved for backward, with
//   -log p[r, k] = (max - x[r, k]) + log(sum_j exp(x[r, j] - max))
//   loss[r] = (1 - eps) * -log p[r, t] + eps * mean_k(-log p[r, k]),   0 where t = ignore_index
void cross_entropy_forward(const float* logits, const int64_t* targets, double* loss, float* row_max, float* log_sum,
                           int64_t rows, int64_t c, int64_t ignore_index, float eps) {
  parallel_for(rows, kernels::grain_for(c), [&](int64_t r0, int64_t r1) {
    kernels::Scratch scratch(c);
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * c;
      const kernels::LogSumExp lse = kernels::log_sum_exp(x, scratch.data(), c);
      const double m = lse.max, ls = lse.log_sum;
      row_max[r] = lse.max;
      log_sum[r] = static_cast<float>(ls);
      if (targets[r] == ignore_index) {
        loss[r] = 0;
        continue;
      }
      const double nll = (m - x[targets[r]]) + ls;
      if (eps == 0) {
        loss[r] = nll;
        continue;
      }
      const double mean_gap = m - kernels::sum_double(x, c) / static_cast<double>(c);  // mean_k (max - x[k])
      loss[r] = (1.0 - eps) * nll + eps * (ls + mean_gap);
    }
  });
}

// dlogits[r, k] = (p[r, k] - (1 - eps) * [k = t] - eps / c) * g[r],   0 where t = ignore_index
void cross_entropy_backward(const float* logits, const int64_t* targets, const float* row_max, const float* log_sum,
                            Upstream g, float* dlogits, int64_t rows, int64_t c, int64_t ignore_index, float eps) {
  parallel_for(rows, kernels::grain_for(c), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * c;
      float* dx = dlogits + r * c;
      const int64_t t = targets[r];
      if (t == ignore_index) {
        std::fill_n(dx, c, 0.0f);
        continue;
      }
      const float gr = g[r], m = row_max[r], ls = log_sum[r], uniform = eps / static_cast<float>(c);
      for (int64_t j = 0; j < c; ++j) dx[j] = (x[j] - m) - ls;
      kernels::exp_inplace(dx, c);  // p[r, k]
      for (int64_t j = 0; j < c; ++j) dx[j] = (dx[j] - uniform) * gr;
      dx[t] -= (1.0f - eps) * gr;
    }
  });
}

}  // namespace

// loss = reduce_i((1 - eps) * -log softmax(x_i)[t_i] + eps * mean_k(-log softmax(x_i)[k]));
// dx_i = (softmax(x_i) - (1 - eps) * onehot(t_i) - eps / C) * dloss_i
Tensor cross_entropy(const Tensor& logits, const IntTensor& targets, int64_t ignore_index, float label_smoothing,
                     Reduction reduction) {
  const profile::OpScope scope("cross_entropy", {&logits});
  check(logits.dim() >= 1 && logits.shape().back() > 0,
        "cross_entropy: logits {} need a non-empty class dim (the last dim)", logits.shape());
  const Shape row_shape(logits.shape().begin(), logits.shape().end() - 1);
  check(targets.shape() == row_shape,
        "cross_entropy: targets {} do not match logits {} (classes last): expected targets {}", targets.shape(),
        logits.shape(), row_shape);
  check(label_smoothing >= 0.0f && label_smoothing <= 1.0f,
        "cross_entropy: label_smoothing {} is not in [0, 1] (logits {})", label_smoothing, logits.shape());
  const int64_t c = logits.shape().back(), rows = targets.numel();
  int64_t count = 0;
  const int64_t* pt = targets.data();
  for (int64_t r = 0; r < rows; ++r) {
    if (pt[r] == ignore_index) continue;
    check(pt[r] >= 0 && pt[r] < c, "cross_entropy: target {} at position {} is out of range for {} classes (logits {})",
          pt[r], unravel_index(r, row_shape), c, logits.shape());
    ++count;
  }

  std::vector<double> losses(rows);
  Tensor row_max = empty({rows}), log_sum = empty({rows});
  cross_entropy_forward(logits.data(), pt, losses.data(), row_max.data(), log_sum.data(), rows, c, ignore_index,
                        label_smoothing);
  Tensor loss = reduce_losses(losses, row_shape, reduction, count);
  return record("cross_entropy", {logits}, loss,
                [sx = Saved(logits), targets, sm = Saved(row_max), sl = Saved(log_sum), rows, c, count, ignore_index,
                 label_smoothing, reduction](const Tensor& dy) {
                  Tensor dx = empty(sx->shape());
                  cross_entropy_backward((*sx).data(), targets.data(), (*sm).data(), (*sl).data(),
                                         upstream(dy, reduction, count), dx.data(), rows, c, ignore_index,
                                         label_smoothing);
                  return Grads{dx};
                });
}

// ---- losses made of independent per-element terms ------------------------------------------------

namespace {

// loss = reduce(term(x_i, t_i)) over x, t (n) of one shape;  (dx_i, dt_i) = d_term(x_i, t_i) * dloss_i.
// term returns a double; d_term returns the pair of partial derivatives {d/dx, d/dt}.
template <class Term, class DTerm>
Tensor pointwise_loss(const char* op, const Tensor& x, const Tensor& t, Reduction reduction, Term term, DTerm d_term) {
  check(x.shape() == t.shape(), "{}: input {} and target {} must have the same shape", op, x.shape(), t.shape());
  const int64_t n = x.numel();
  std::vector<double> losses(n);
  const float* px = x.data();
  const float* pt = t.data();
  parallel_for(n, kernels::kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) losses[i] = term(px[i], pt[i]);
  });
  Tensor loss = reduce_losses(losses, x.shape(), reduction, n);
  const bool need_x = x.requires_grad(), need_t = t.requires_grad();
  return record(op, {x, t}, loss, [sx = Saved(x), st = Saved(t), n, reduction, need_x, need_t, d_term](const Tensor& dy) {
    const Upstream g = upstream(dy, reduction, n);
    const float* px = (*sx).data();
    const float* pt = (*st).data();
    Tensor dx = need_x ? empty(sx->shape()) : Tensor();
    Tensor dt = need_t ? empty(st->shape()) : Tensor();
    float* pdx = need_x ? dx.data() : nullptr;
    float* pdt = need_t ? dt.data() : nullptr;
    parallel_for(n, kernels::kGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const auto [d_x, d_t] = d_term(px[i], pt[i]);
        if (pdx) pdx[i] = d_x * g[i];
        if (pdt) pdt[i] = d_t * g[i];
      }
    });
    return Grads{dx, dt};
  });
}

struct Partials {
  float d_x, d_t;
};

}  // namespace

// loss = reduce(max(x, 0) - x t + log(1 + e^-|x|));  dx = (sigmoid(x) - t) dloss,  dt = -x dloss
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  const profile::OpScope scope("binary_cross_entropy_with_logits", {&logits, &targets});
  return pointwise_loss(
      "binary_cross_entropy_with_logits", logits, targets, reduction,
      [](double x, double t) { return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x))); },
      [](float x, float t) { return Partials{kernels::stable_sigmoid(x) - t, -x}; });
}

// loss = reduce((x - t)^2);  dx = 2 (x - t) dloss,  dt = -dx
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  const profile::OpScope scope("mse_loss", {&input, &target});
  return pointwise_loss(
      "mse_loss", input, target, reduction, [](double x, double t) { return (x - t) * (x - t); },
      [](float x, float t) { return Partials{2.0f * (x - t), -2.0f * (x - t)}; });
}

}  // namespace ag
