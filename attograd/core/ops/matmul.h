#pragma once
// Matrix products: matmul with broadcast batch dims, and linear (x @ W^T + b in one fused GEMM).

#include "attograd/core/tensor.h"

namespace ag {

/// a (..., m, k) @ b (..., k, n) -> (broadcast batch dims, m, n); 1-D a or b as in torch.matmul.
Tensor matmul(const Tensor& a, const Tensor& b);

/// x (..., in) @ weight (out, in)^T + bias (out, or undefined) -> (..., out) (torch.nn.functional.linear).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

}  // namespace ag
