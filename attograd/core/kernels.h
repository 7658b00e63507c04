#pragma once
// Loop helpers shared by the ops: the grain of a parallel loop, fixed-order column sums, and the
// elementwise loops (map one tensor, zip two of the same shape, the broadcasting binary loop), which
// return a fresh tensor. None records anything.

#include <algorithm>
#include <cmath>

#include "attograd/core/shape.h"
#include "attograd/core/tensor.h"
#include "attograd/core/threads.h"

namespace ag::kernels {

/// Elements per thread below which a loop is not worth splitting across threads.
inline constexpr int64_t kGrain = 1 << 15;

/// Multiply-adds per thread below which splitting a batch of small independent matrix products
/// (attention heads, batched matmuls) across threads does not pay.
inline constexpr int64_t kMatrixGrain = 1 << 16;

/// The grain (items per thread) for a parallel_for whose items each cost `cost_per_item` units of
/// work: enough items to make `work_per_thread` units (kGrain elements unless told), at least one.
inline int64_t grain_for(int64_t cost_per_item, int64_t work_per_thread = kGrain) {
  return std::max<int64_t>(1, work_per_thread / std::max<int64_t>(cost_per_item, 1));
}

/// out (cols) = the column sums of a (rows, cols), each accumulated in double over the rows in
/// order, so a bias gradient is the same whatever the thread count (threads split the columns).
void column_sums(const float* a, float* out, int64_t rows, int64_t cols);

/// 1 / (1 + e^-v) without overflow for large |v| (sigmoid and BCE-with-logits share it).
inline float stable_sigmoid(float v) {
  if (v >= 0) return 1.0f / (1.0f + std::exp(-v));
  const float e = std::exp(v);
  return e / (1.0f + e);
}

/// Temporary floats for a kernel, 64-byte aligned as every Tensor is. Eigen's vectorised loops do
/// the elements before the first alignment boundary one at a time, and its SIMD exp differs from
/// std::exp in the last bit, so a temporary from std::vector (16-byte aligned, at a different offset
/// each time) would make results depend on where malloc put it: use this instead.
class Scratch {
 public:
  explicit Scratch(int64_t n) : buffer_(empty({n})) {}
  Scratch(int64_t n, float fill) : buffer_(full({n}, fill)) {}
  float* data() const { return buffer_.data(); }
  float& operator[](int64_t i) const { return buffer_.data()[i]; }

 private:
  Tensor buffer_;
};

/// y[i] = f(x[i]).
template <class F>
Tensor map(const Tensor& x, F f) {
  Tensor y = empty(x.shape());
  const float* px = x.data();
  float* py = y.data();
  parallel_for(x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) py[i] = f(px[i]);
  });
  return y;
}

/// z[i] = f(a[i], b[i]) for a and b of the same shape (the shape is the caller's to check).
template <class F>
Tensor zip(const Tensor& a, const Tensor& b, F f) {
  Tensor z = empty(a.shape());
  const float* pa = a.data();
  const float* pb = b.data();
  float* pz = z.data();
  parallel_for(a.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) pz[i] = f(pa[i], pb[i]);
  });
  return z;
}

/// How two broadcast operands are laid out over their output, with adjacent dims merged where both
/// operands allow it, so that the innermost loop is as long as possible. A stride of 0 repeats.
struct BroadcastPlan {
  Shape out_shape;               // the broadcast result's shape
  std::vector<int64_t> sizes;    // merged dims, outermost first (at least one)
  std::vector<int64_t> stride_a; // element strides of a over the merged dims (0 = broadcast)
  std::vector<int64_t> stride_b;
};
BroadcastPlan plan_broadcast(const Shape& a, const Shape& b, const char* op);

/// z = f(a, b) with NumPy broadcasting; raises ag::Error naming `op` if the shapes do not broadcast.
template <class F>
Tensor broadcast(const Tensor& a, const Tensor& b, const char* op, F f) {
  if (a.shape() == b.shape()) return zip(a, b, f);
  const BroadcastPlan plan = plan_broadcast(a.shape(), b.shape(), op);
  Tensor z = empty(plan.out_shape);
  const float* pa = a.data();
  const float* pb = b.data();
  float* pz = z.data();
  const int64_t rank = static_cast<int64_t>(plan.sizes.size());
  const int64_t inner = plan.sizes.back();
  const int64_t ia = plan.stride_a.back(), ib = plan.stride_b.back();
  const int64_t rows = z.numel() / std::max<int64_t>(inner, 1);
  parallel_for(rows, grain_for(inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t oa = 0, ob = 0;  // offsets of row r in a and b
      for (int64_t d = rank - 2, rest = r; d >= 0; --d) {
        const int64_t coord = rest % plan.sizes[d];
        rest /= plan.sizes[d];
        oa += coord * plan.stride_a[d];
        ob += coord * plan.stride_b[d];
      }
      const float* ra = pa + oa;
      const float* rb = pb + ob;
      float* rz = pz + r * inner;
      // Specialised inner loops so the compiler vectorises the common cases.
      if (ia == 1 && ib == 1) for (int64_t j = 0; j < inner; ++j) rz[j] = f(ra[j], rb[j]);
      else if (ia == 1 && ib == 0) for (int64_t j = 0; j < inner; ++j) rz[j] = f(ra[j], rb[0]);
      else if (ia == 0 && ib == 1) for (int64_t j = 0; j < inner; ++j) rz[j] = f(ra[0], rb[j]);
      else for (int64_t j = 0; j < inner; ++j) rz[j] = f(ra[j * ia], rb[j * ib]);
    }
  });
  return z;
}

}  // namespace ag::kernels
