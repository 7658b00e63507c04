#include "attograd/core/ops/layer_norm.h"

#include <algorithm>
#include <cmath>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/kernels.h"
#include "attograd/core/profiler.h"

namespace ag {

namespace {

// x, y (rows, d); w, b (d) or null; mean, rstd (rows) saved for backward.
//   y = (x - mean) * rstd * w + b,  mean = sum(x) / d,  rstd = 1 / sqrt(sum((x - mean)^2) / d + eps)
void layer_norm_forward(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t d, float eps) {
  parallel_for(rows, kernels::grain_for(d), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * d;
      float* yr = y + r * d;
      double sum = 0;
      for (int64_t j = 0; j < d; ++j) sum += xr[j];
      const double mu = sum / static_cast<double>(d);
      double sq = 0;  // two passes: no cancellation when |mean| >> std
      for (int64_t j = 0; j < d; ++j) sq += (xr[j] - mu) * (xr[j] - mu);
      const float m = static_cast<float>(mu);
      const float s = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(d) + eps));
      for (int64_t j = 0; j < d; ++j) {
        const float v = (xr[j] - m) * s;
        yr[j] = (w ? v * w[j] : v) + (b ? b[j] : 0.0f);
      }
      mean[r] = m;
      rstd[r] = s;
    }
  });
}

// With xhat = (x - mean) * rstd and g = dy * w:
//   dx = rstd * (g - mean_j(g) - xhat * mean_j(g * xhat))        (rows, d), skipped when dx is null
//   dw = sum over rows of dy * xhat,  db = sum over rows of dy  (d),      skipped when null
// dw and db are split over threads by columns, each summed over rows in order, in double.
void layer_norm_backward(const float* dy, const float* x, const float* w, const float* mean, const float* rstd,
                         float* dx, float* dw, float* db, int64_t rows, int64_t d) {
  if (dx) {
    parallel_for(rows, kernels::grain_for(d), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float* gr = dy + r * d;
        const float* xr = x + r * d;
        float* dxr = dx + r * d;
        const float m = mean[r], s = rstd[r];
        double sum_g = 0, sum_gx = 0;
        for (int64_t j = 0; j < d; ++j) {
          const float g = w ? gr[j] * w[j] : gr[j];
          sum_g += g;
          sum_gx += static_cast<double>(g) * ((xr[j] - m) * s);
        }
        const float a = static_cast<float>(sum_g / static_cast<double>(d));
        const float c = static_cast<float>(sum_gx / static_cast<double>(d));
        for (int64_t j = 0; j < d; ++j) {
          const float g = w ? gr[j] * w[j] : gr[j];
          dxr[j] = s * (g - a - (xr[j] - m) * s * c);
        }
      }
    });
  }
  if (!dw && !db) return;
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (d + kBlock - 1) / kBlock;
  parallel_for(blocks, kernels::grain_for(rows * kBlock),
               [&](int64_t b0, int64_t b1) {
                 double acc_w[kBlock], acc_b[kBlock];
                 for (int64_t blk = b0; blk < b1; ++blk) {
                   const int64_t c0 = blk * kBlock, width = std::min(kBlock, d - c0);
                   std::fill_n(acc_w, width, 0.0);
                   std::fill_n(acc_b, width, 0.0);
                   for (int64_t r = 0; r < rows; ++r) {
                     const float* gr = dy + r * d + c0;
                     const float* xr = x + r * d + c0;
                     const float m = mean[r], s = rstd[r];
                     for (int64_t j = 0; j < width; ++j) {
                       acc_w[j] += gr[j] * ((xr[j] - m) * s);
                       acc_b[j] += gr[j];
                     }
                   }
                   for (int64_t j = 0; j < width; ++j) {
                     if (dw) dw[c0 + j] = static_cast<float>(acc_w[j]);
                     if (db) db[c0 + j] = static_cast<float>(acc_b[j]);
                   }
                 }
               });
}

}  // namespace

// y = (x - mean) / sqrt(var + eps) * w + b over the trailing dims;  see layer_norm_backward for dx, dw, db
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, float eps) {
  const profile::OpScope scope("layer_norm", {&x, &weight, &bias});
  const int64_t k = normalized_shape.rank();
  check(k >= 1 && k <= x.dim() && std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k),
        "layer_norm: normalized_shape {} does not match the trailing dims of x {}", normalized_shape, x.shape());
  check(!weight.defined() || weight.shape() == normalized_shape,
        "layer_norm: weight {} does not match normalized_shape {} (x {})", weight.defined() ? weight.shape() : Shape{},
        normalized_shape, x.shape());
  check(!bias.defined() || bias.shape() == normalized_shape,
        "layer_norm: bias {} does not match normalized_shape {} (x {})", bias.defined() ? bias.shape() : Shape{},
        normalized_shape, x.shape());
  const int64_t d = numel(normalized_shape);
  const int64_t rows = d > 0 ? x.numel() / d : 0;
  Tensor y = empty(x.shape());
  Tensor mean = empty({rows}), rstd = empty({rows});
  layer_norm_forward(x.data(), weight.defined() ? weight.data() : nullptr, bias.defined() ? bias.data() : nullptr,
                     y.data(), mean.data(), rstd.data(), rows, d, eps);
  const bool need_x = x.requires_grad();
  const bool need_w = weight.defined() && weight.requires_grad(), need_b = bias.defined() && bias.requires_grad();
  return record("layer_norm", {x, weight, bias}, y,
                [sx = Saved(x), sw = Saved(weight), sm = Saved(mean), sr = Saved(rstd), normalized_shape, rows, d,
                 need_x, need_w, need_b](const Tensor& dy) {
                  Tensor dx = need_x ? empty(sx->shape()) : Tensor();
                  Tensor dw = need_w ? empty(normalized_shape) : Tensor();
                  Tensor db = need_b ? empty(normalized_shape) : Tensor();
                  layer_norm_backward(dy.data(), (*sx).data(), sw->defined() ? (*sw).data() : nullptr, (*sm).data(),
                                      (*sr).data(), need_x ? dx.data() : nullptr, need_w ? dw.data() : nullptr,
                                      need_b ? db.data() : nullptr, rows, d);
                  return Grads{dx, dw, db};
                });
}

}  // namespace ag
