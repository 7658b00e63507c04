#pragma once
// Losses with fused, numerically stable forward/backward kernels: cross-entropy (log-sum-exp),
// binary cross-entropy with logits, mean squared error.

#include <cstdint>

#include "attograd/core/tensor.h"

namespace ag {

/// How per-element losses are combined (torch's reduction='none' | 'mean' | 'sum').
enum class Reduction { None, Mean, Sum };

/// Softmax cross-entropy of logits (..., C) against class targets (...) (F.cross_entropy).
/// The class dim is the LAST dim, for any rank: torch wants it at dim 1 for inputs of more than
/// 2 dims, attograd takes (B, T, C) logits as they come out of a model. Targets equal to
/// ignore_index contribute 0; Mean divides by the number of the other targets, and gives 0 (torch:
/// NaN) when every target is ignored. label_smoothing eps mixes in the uniform distribution:
/// loss_i = (1 - eps) * -log p[i, t_i] + eps * mean_c(-log p[i, c]). None returns shape (...).
Tensor cross_entropy(const Tensor& logits, const IntTensor& targets, int64_t ignore_index = -100,
                     float label_smoothing = 0.0f, Reduction reduction = Reduction::Mean);

/// max(x, 0) - x * t + log(1 + exp(-|x|)) for logits x and targets t of the same shape
/// (F.binary_cross_entropy_with_logits); stable for any x.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        Reduction reduction = Reduction::Mean);

/// (input - target)^2 for two tensors of the same shape (F.mse_loss).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace ag
