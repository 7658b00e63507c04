#include "attograd/core/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/kernels.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/profiler.h"

namespace ag {

namespace {

constexpr int64_t kChunk = 1 << 14;      // fixed summation chunk: the order never depends on threads
constexpr int64_t kColumnBlock = 256;    // columns summed together when reducing a middle dim

// out[o, i] = sum_k x[o, k, i] for x viewed as (outer, n, inner). Double accumulators, and every
// output element is summed in the same order whatever the thread count.
void sum_middle(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
    if (outer == 1 && n > kChunk) {  // one long row: fixed chunks in parallel, then their sum in order
      const int64_t chunks = (n + kChunk - 1) / kChunk;
      std::vector<double> partial(chunks);
      parallel_for(chunks, 2, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          double acc = 0;
          for (int64_t k = c * kChunk, end = std::min(n, k + kChunk); k < end; ++k) acc += x[k];
          partial[c] = acc;
        }
      });
      double total = 0;
      for (double p : partial) total += p;
      out[0] = static_cast<float>(total);
      return;
    }
    parallel_for(outer, kernels::grain_for(n), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        double acc = 0;
        for (int64_t k = 0; k < n; ++k) acc += x[o * n + k];
        out[o] = static_cast<float>(acc);
      }
    });
    return;
  }
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(outer * blocks, kernels::grain_for(n * kColumnBlock),
               [&](int64_t t0, int64_t t1) {
                 double acc[kColumnBlock];
                 for (int64_t t = t0; t < t1; ++t) {
                   const int64_t o = t / blocks, i0 = (t % blocks) * kColumnBlock;
                   const int64_t width = std::min(kColumnBlock, inner - i0);
                   std::fill_n(acc, width, 0.0);
                   for (int64_t k = 0; k < n; ++k) {
                     const float* row = x + (o * n + k) * inner + i0;
                     for (int64_t j = 0; j < width; ++j) acc[j] += row[j];
                   }
                   for (int64_t j = 0; j < width; ++j) out[o * inner + i0 + j] = static_cast<float>(acc[j]);
                 }
               });
}

// Sorted, unique, non-negative dims; an empty list means every dim.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, const Shape& shape, const char* op) {
  const int64_t rank = shape.rank();
  std::vector<int64_t> out;
  for (int64_t d : dims) out.push_back(normalize_dim(d, shape, op));
  std::sort(out.begin(), out.end());
  check(std::adjacent_find(out.begin(), out.end()) == out.end(), "{}: a dim appears twice in the list", op);
  if (dims.empty())
    for (int64_t d = 0; d < rank; ++d) out.push_back(d);
  return out;
}

// Sum over sorted dims, keeping them as size 1. Adjacent reduced dims are summed in one pass.
Tensor sum_keepdim(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor cur = x;
  Shape shape = x.shape();
  size_t g = dims.size();
  while (g > 0) {  // from the innermost group of adjacent dims outwards
    size_t first = g - 1;
    while (first > 0 && dims[first - 1] + 1 == dims[first]) --first;
    const int64_t d0 = dims[first], d1 = dims[g - 1];
    int64_t outer = 1, n = 1, inner = 1;
    for (int64_t d = 0; d < d0; ++d) outer *= shape[d];
    for (int64_t d = d0; d <= d1; ++d) n *= shape[d];
    for (int64_t d = d1 + 1; d < shape.rank(); ++d) inner *= shape[d];
    for (int64_t d = d0; d <= d1; ++d) shape[d] = 1;
    Tensor next = empty(shape);
    if (n == 0) std::fill_n(next.data(), next.numel(), 0.0f);
    else sum_middle(cur.data(), next.data(), outer, n, inner);
    cur = next;
    g = first;
  }
  return cur.is_same(x) ? x.detach().clone() : cur;
}

Shape drop_dims(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape out;
  for (int64_t d = 0; d < shape.rank(); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) out.push_back(shape[d]);
  return out;
}

Shape keep_dims(Shape shape, const std::vector<int64_t>& dims) {
  for (int64_t d : dims) shape[d] = 1;
  return shape;
}

}  // namespace

// y = sum over dims of x;  dx = dy broadcast back over the summed dims
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const profile::OpScope scope("sum", {&x});
  const std::vector<int64_t> ds = normalize_dims(dims, x.shape(), "sum");
  Tensor y = sum_keepdim(x.detach(), ds);
  if (!keepdim) y = y.reshape(drop_dims(x.shape(), ds));
  return record("sum", {x}, y, [shape = x.shape(), kept = keep_dims(x.shape(), ds)](const Tensor& dy) {
    return Grads{expand(dy.reshape(kept), shape)};
  });
}

Tensor sum(const Tensor& x) { return sum(x, {}, false); }

// y = sum(x) / count;  composed from sum and a scalar multiply (dx = dy / count, broadcast)
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const profile::OpScope scope("mean", {&x});
  const std::vector<int64_t> ds = normalize_dims(dims, x.shape(), "mean");
  int64_t count = 1;
  for (int64_t d : ds) count *= x.shape()[d];
  check(count > 0, "mean: the reduced dims of shape {} hold no elements", x.shape());
  return mul(sum(x, ds, keepdim), 1.0f / static_cast<float>(count));
}

Tensor mean(const Tensor& x) { return mean(x, {}, false); }

namespace {

// For x viewed as (outer, n, inner): the max over n and its first index, per (outer, inner).
void max_middle(const float* x, float* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner) {
  parallel_for(outer * inner, kernels::grain_for(n), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / inner, i = t % inner;
      const float* p = x + o * n * inner + i;
      float best = p[0];
      int64_t at = 0;
      for (int64_t k = 1; k < n; ++k) {
        const float v = p[k * inner];
        if (v > best || (std::isnan(v) && !std::isnan(best))) best = v, at = k;  // NaN wins, as in torch
      }
      values[t] = best;
      indices[t] = at;
    }
  });
}

}  // namespace

// y = max_k x[.., k, ..];  dx = dy at the position of each max, 0 elsewhere
MaxResult max(const Tensor& x, int64_t dim, bool keepdim) {
  const int64_t d = normalize_dim(dim, x.shape(), "max");
  const int64_t n = x.shape()[d];
  check(n > 0, "max: dim {} of shape {} is empty", dim, x.shape());
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
  const Shape out_shape = keepdim ? keep_dims(x.shape(), {d}) : drop_dims(x.shape(), {d});
  Tensor values = empty(out_shape);
  IntTensor indices(out_shape);
  max_middle(x.data(), values.data(), indices.data(), outer, n, inner);
  values = record("max", {x}, values, [indices, shape = x.shape(), outer, n, inner](const Tensor& dy) {
    Tensor dx = zeros(shape);
    float* px = dx.data();
    const float* pg = dy.data();
    const int64_t* pi = indices.data();
    for (int64_t t = 0; t < outer * inner; ++t) px[(t / inner) * n * inner + pi[t] * inner + t % inner] = pg[t];
    return Grads{dx};
  });
  return {values, indices};
}

IntTensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return max(x, dim, keepdim).indices;
}

// y = x summed over the dims that broadcasting added or stretched;  dx = expand(dy, x's shape)
Tensor sum_to(const Tensor& x, const Shape& shape) {
  const profile::OpScope scope("sum_to", {&x});
  if (x.shape() == shape) return x;
  check(broadcast_shapes(shape, x.shape(), "sum_to") == x.shape(), "sum_to: shape {} does not broadcast to {}",
        shape, x.shape());
  const int64_t lead = x.dim() - shape.rank();
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(d);
  return sum(x, dims, true).reshape(shape);
}

// y = x broadcast to shape;  dx = sum_to(dy, x's shape)
Tensor expand(const Tensor& x, const Shape& shape) {
  const profile::OpScope scope("expand", {&x});
  const kernels::BroadcastPlan plan = kernels::plan_broadcast(x.shape(), shape, "expand");
  check(plan.out_shape == shape, "expand: shape {} cannot be expanded to {}", x.shape(), shape);
  Tensor y = empty(shape);
  const float* px = x.data();
  float* py = y.data();
  const int64_t rank = static_cast<int64_t>(plan.sizes.size());
  const int64_t inner = plan.sizes.back(), step = plan.stride_a.back();
  const int64_t rows = y.numel() / std::max<int64_t>(inner, 1);
  parallel_for(rows, kernels::grain_for(inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t offset = 0;
      for (int64_t d = rank - 2, rest = r; d >= 0; --d) {
        offset += (rest % plan.sizes[d]) * plan.stride_a[d];
        rest /= plan.sizes[d];
      }
      float* out = py + r * inner;
      if (step == 0) std::fill_n(out, inner, px[offset]);
      else for (int64_t j = 0; j < inner; ++j) out[j] = px[offset + j * step];
    }
  });
  return record("expand", {x}, y, [old = x.shape()](const Tensor& dy) { return Grads{sum_to(dy, old)}; });
}

}  // namespace ag
