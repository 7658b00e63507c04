#pragma once
// Matrix products: matmul with broadcast batch dims, and linear (x @ W^T + b in one fused GEMM),
// also through a block of the weight's rows (linear_rows).

#include "attograd/core/tensor.h"

namespace ag {

/// a (..., m, k) @ b (..., k, n) -> (broadcast batch dims, m, n); 1-D a or b as in torch.matmul.
Tensor matmul(const Tensor& a, const Tensor& b);

/// x (..., in) @ weight (out, in)^T + bias (out, or undefined) -> (..., out) (torch.nn.functional.linear).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

/// x (..., in) @ weight[begin : begin+count]^T + bias[begin : begin+count] -> (..., count), reading the
/// rows in place (no copy); weight (out, in), bias (out) or undefined. The weight and bias gradients
/// are full-size, zero outside the rows (F.linear(x, w[begin:begin+count], b[begin:begin+count])).
/// MultiheadAttention projects q, k and v through the row blocks of one in_proj_weight this way.
Tensor linear_rows(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t begin, int64_t count);

}  // namespace ag
