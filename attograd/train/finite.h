#pragma once
// The non-finite stop: a training loop ends at the first NaN or Inf in a loss or in the gradients,
// naming the step, before the bad values reach the weights (and so before any checkpoint has them).

#include <cstdint>

#include "attograd/nn/module.h"

namespace ag::train {

/// Raises ag::Error naming `step` (counted from 1 over the whole run) when `loss` is NaN or Inf.
void check_finite_loss(double loss, int64_t step);

/// Clips the gradients of `params` to a global L2 norm of max_norm (clip_grad_norm_; max_norm 0:
/// no clipping) and returns the norm before clipping. When that norm is NaN or Inf, raises ag::Error
/// naming `step` and the first parameter whose gradient is not finite, leaving the gradients as they
/// are (the optimizer step must then not run).
double clip_and_check_gradients(const nn::NamedTensors& params, double max_norm, int64_t step);

/// Raises ag::Error naming `step` and the first tensor holding NaN or Inf: called before a
/// checkpoint is written, for an update that made the weights non-finite from finite gradients.
void check_finite_weights(const nn::NamedTensors& params, int64_t step);

}  // namespace ag::train
