#include "attograd/core/ops/softmax.h"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/kernels.h"
#include "attograd/core/profiler.h"

namespace ag {

// Fully masked rows. A row whose entries are all -inf (every position masked out) has no
// probability distribution. torch returns NaN for it, and the NaN then poisons every gradient of the
// batch. attograd instead returns softmax weights of exactly 0 (so attention over nothing gives a
// zero output) and log_softmax values of -inf, both with a zero gradient. This is a deliberate
// deviation from torch.

namespace kernels {

double sum_double(const float* x, int64_t n) {
  double acc[4] = {0, 0, 0, 0};  // four independent chains: ~4x faster than one, same order always
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; ++k) acc[k] += x[j + k];
  for (; j < n; ++j) acc[0] += x[j];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

double dot_double(const float* a, const float* b, int64_t n) {
  double acc[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; ++k) acc[k] += static_cast<double>(a[j + k]) * b[j + k];
  for (; j < n; ++j) acc[0] += static_cast<double>(a[j]) * b[j];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

void exp_inplace(float* x, int64_t n) {
  Eigen::Map<Eigen::ArrayXf> a(x, n);
  a = a.exp();  // Eigen's SIMD exp (within ~2 ulp; exp(-inf) = 0); std::exp does not vectorise
}

float row_max(const float* x, int64_t n) {
  if (n == 0) return -std::numeric_limits<float>::infinity();
  // Eigen's max vectorises (a plain std::max loop does not: NaN rules forbid reordering it).
  return Eigen::Map<const Eigen::ArrayXf>(x, n).maxCoeff<Eigen::PropagateNaN>();
}

LogSumExp log_sum_exp(const float* x, float* scratch, int64_t n) {
  const float m = row_max(x, n);
  if (m == -std::numeric_limits<float>::infinity()) return {m, -std::numeric_limits<double>::infinity()};
  for (int64_t j = 0; j < n; ++j) scratch[j] = x[j] - m;
  exp_inplace(scratch, n);
  return {m, std::log(sum_double(scratch, n))};
}

// x, y (n): y = exp(x - max) / sum(exp(x - max)); y = 0 if every x is -inf. Element j of x is read
// before y[j] is written, so y may be x.
void softmax_row(const float* x, float* y, int64_t n) {
  const float m = row_max(x, n);
  if (m == -std::numeric_limits<float>::infinity()) {  // fully masked (or empty): zero weights, see above
    std::fill_n(y, n, 0.0f);
    return;
  }
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] - m;
  exp_inplace(y, n);
  const float inv = static_cast<float>(1.0 / sum_double(y, n));
  for (int64_t j = 0; j < n; ++j) y[j] *= inv;
}

}  // namespace kernels

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Both ops view x as (outer, n, inner) with n = x.size(dim): a "row" is the n elements of one
// (outer, inner) pair, inner apart (contiguous when dim is the last dim, the common case).
struct Rows {
  int64_t outer = 1, n = 1, inner = 1;
  int64_t count() const { return outer * inner; }
  int64_t start(int64_t r) const { return (r / inner) * n * inner + r % inner; }  // row r's first element
};

Rows rows_of(const Tensor& x, int64_t dim, const char* op) {
  const int64_t d = normalize_dim(dim, x.shape(), op);
  Rows rows;
  rows.n = x.shape()[d];
  for (int64_t i = 0; i < d; ++i) rows.outer *= x.shape()[i];
  for (int64_t i = d + 1; i < x.dim(); ++i) rows.inner *= x.shape()[i];
  return rows;
}

// Runs f(inputs, out) on every row, the K input rows and the output row each contiguous (n):
// when dim is not the last dim, rows are copied into per-thread buffers and the result copied back.
template <size_t K, class F>
void for_each_row(const Rows& rows, const std::array<const float*, K>& in, float* out, F f) {
  const int64_t n = rows.n, inner = rows.inner;
  parallel_for(rows.count(), kernels::grain_for(n), [&](int64_t r0, int64_t r1) {
    std::array<const float*, K> row_in;
    if (inner == 1) {
      for (int64_t r = r0; r < r1; ++r) {
        for (size_t k = 0; k < K; ++k) row_in[k] = in[k] + r * n;
        f(row_in, out + r * n);
      }
      return;
    }
    kernels::Scratch buffer((K + 1) * n);
    float* row_out = buffer.data() + K * n;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = rows.start(r);
      for (size_t k = 0; k < K; ++k) {
        float* b = buffer.data() + k * n;
        for (int64_t j = 0; j < n; ++j) b[j] = in[k][o + j * inner];
        row_in[k] = b;
      }
      f(row_in, row_out);
      for (int64_t j = 0; j < n; ++j) out[o + j * inner] = row_out[j];
    }
  });
}

// y, dy, dx (n): dx = y * (dy - sum(dy * y))
void softmax_backward_row(const float* y, const float* dy, float* dx, int64_t n) {
  const float dot = static_cast<float>(kernels::dot_double(dy, y, n));
  for (int64_t j = 0; j < n; ++j) dx[j] = y[j] * (dy[j] - dot);
}

// x, y (n): y = (x - max) - log(sum(exp(x - max))); y = -inf if every x is -inf.
void log_softmax_row(const float* x, float* y, int64_t n) {
  const kernels::LogSumExp lse = kernels::log_sum_exp(x, y, n);  // y is the scratch
  if (lse.max == kNegInf) {
    std::fill_n(y, n, kNegInf);
    return;
  }
  const float log_sum = static_cast<float>(lse.log_sum);
  for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - lse.max) - log_sum;
}

// y, dy, dx (n): dx = dy - exp(y) * sum(dy); dx = 0 where the whole row was masked (all y = -inf).
void log_softmax_backward_row(const float* y, const float* dy, float* dx, int64_t n) {
  if (std::all_of(y, y + n, [](float v) { return v == kNegInf; })) {
    std::fill_n(dx, n, 0.0f);
    return;
  }
  const float total = static_cast<float>(kernels::sum_double(dy, n));
  std::copy_n(y, n, dx);
  kernels::exp_inplace(dx, n);
  for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] - dx[j] * total;
}

}  // namespace

// y = exp(x - max) / sum(exp(x - max)) along dim;  dx = y * (dy - sum(dy * y))
// (a fully masked row has y = 0, so its dx = 0 too)
Tensor softmax(const Tensor& x, int64_t dim) {
  const profile::OpScope scope("softmax", {&x});
  const Rows rows = rows_of(x, dim, "softmax");
  Tensor y = empty(x.shape());
  for_each_row<1>(rows, {x.data()}, y.data(), [n = rows.n](const auto& in, float* out) { kernels::softmax_row(in[0], out, n); });
  return record("softmax", {x}, y, [sy = Saved(y), rows](const Tensor& dy) {
    Tensor dx = empty(dy.shape());
    for_each_row<2>(rows, {(*sy).data(), dy.data()}, dx.data(),
                    [n = rows.n](const auto& in, float* out) { softmax_backward_row(in[0], in[1], out, n); });
    return Grads{dx};
  });
}

// y = x - max - log(sum(exp(x - max))) along dim;  dx = dy - exp(y) * sum(dy)
// (a fully masked row, all y = -inf, gets dx = 0)
Tensor log_softmax(const Tensor& x, int64_t dim) {
  const profile::OpScope scope("log_softmax", {&x});
  const Rows rows = rows_of(x, dim, "log_softmax");
  Tensor y = empty(x.shape());
  for_each_row<1>(rows, {x.data()}, y.data(), [n = rows.n](const auto& in, float* out) { log_softmax_row(in[0], out, n); });
  return record("log_softmax", {x}, y, [sy = Saved(y), rows](const Tensor& dy) {
    Tensor dx = empty(dy.shape());
    for_each_row<2>(rows, {(*sy).data(), dy.data()}, dx.data(),
                    [n = rows.n](const auto& in, float* out) { log_softmax_backward_row(in[0], in[1], out, n); });
    return Grads{dx};
  });
}

}  // namespace ag
