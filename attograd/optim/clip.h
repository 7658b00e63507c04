#pragma once
// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), applied in place to the
// gradients of parameters; parameters without a gradient are ignored.

#include <limits>
#include <vector>

#include "attograd/core/named_tensors.h"
#include "attograd/core/tensor.h"

namespace ag::optim {

/// Scales all gradients by max_norm / (total + 1e-6) when that is below 1, where total is the
/// norm_type-norm of all gradients together (accumulated in double; norm_type may be infinity).
/// Returns total. A non-finite total raises ag::Error naming the first parameter with a non-finite
/// gradient and changes nothing (torch's error_if_nonfinite=True).
double clip_grad_norm_(const NamedTensors& params, double max_norm, double norm_type = 2.0);
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

/// Clamps every gradient element to [-clip_value, clip_value] (torch clip_grad_value_).
void clip_grad_value_(const NamedTensors& params, double clip_value);
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

/// Infinity, for norm_type (torch's float('inf')).
inline constexpr double inf_norm = std::numeric_limits<double>::infinity();

}  // namespace ag::optim
