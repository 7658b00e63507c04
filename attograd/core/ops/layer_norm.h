#pragma once
// layer_norm: normalises over the trailing dims, one fused forward/backward kernel pair.

#include "attograd/core/tensor.h"

namespace ag {

/// x (..., *normalized_shape) normalised over its trailing normalized_shape dims (biased variance),
/// then * weight + bias, both of shape normalized_shape and optional (F.layer_norm). Same shape as x.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  float eps = 1e-5f);

}  // namespace ag
