#include "attograd/core/kernels.h"

#include <algorithm>

namespace ag::kernels {

// Blocks of columns in parallel; within a block, rows in order into one double per column.
void column_sums(const float* a, float* out, int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (cols + kBlock - 1) / kBlock;
  parallel_for(blocks, grain_for(rows * kBlock), [&](int64_t b0, int64_t b1) {
    double acc[kBlock];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t j0 = b * kBlock, width = std::min(kBlock, cols - j0);
      std::fill_n(acc, width, 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        const float* row = a + r * cols + j0;
        for (int64_t j = 0; j < width; ++j) acc[j] += row[j];
      }
      for (int64_t j = 0; j < width; ++j) out[j0 + j] = static_cast<float>(acc[j]);
    }
  });
}

BroadcastPlan plan_broadcast(const Shape& a, const Shape& b, const char* op) {
  BroadcastPlan plan;
  plan.out_shape = broadcast_shapes(a, b, op);
  const int64_t rank = plan.out_shape.rank();
  // Strides of each operand over the output's dims: 0 where it has size 1 or the dim is missing.
  auto broadcast_strides = [&](const Shape& s) {
    std::vector<int64_t> strides(rank, 0);
    const std::vector<int64_t> own = strides_of(s);
    for (int64_t d = 0; d < s.rank(); ++d) {
      const int64_t od = d + rank - s.rank();
      strides[od] = s[d] == 1 ? 0 : own[d];
    }
    return strides;
  };
  const std::vector<int64_t> sa = broadcast_strides(a), sb = broadcast_strides(b);
  // Merge dim d into d+1 when both operands step through them as one longer dim.
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t size = plan.out_shape[d];
    if (size == 1) continue;  // a size-1 output dim adds nothing to the iteration
    if (!plan.sizes.empty() && plan.stride_a.back() == sa[d] * size && plan.stride_b.back() == sb[d] * size) {
      plan.sizes.back() *= size;
      plan.stride_a.back() = sa[d];
      plan.stride_b.back() = sb[d];
    } else {
      plan.sizes.push_back(size);
      plan.stride_a.push_back(sa[d]);
      plan.stride_b.push_back(sb[d]);
    }
  }
  if (plan.sizes.empty()) {
    plan.sizes = {1};
    plan.stride_a = {0};
    plan.stride_b = {0};
  }
  return plan;
}

}  // namespace ag::kernels
