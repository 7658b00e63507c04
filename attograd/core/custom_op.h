#pragma once
// custom_op: a user-defined differentiable op from a forward and a backward function, the C++
// analogue of torch.autograd.Function.

#include <functional>
#include <string>
#include <vector>

#include "attograd/core/autograd.h"

namespace ag {

/// Computes the op's output from its inputs. Runs without recording, on detached inputs.
using CustomForward = std::function<Tensor(const std::vector<Tensor>& inputs)>;
/// Returns one gradient per input (undefined for "none") from the inputs, the output and the
/// output's gradient. Inputs and output are handed back as saved (ctx.saved_tensors in torch).
using CustomBackward =
    std::function<Grads(const std::vector<Tensor>& inputs, const Tensor& output, const Tensor& grad_output)>;

/// Runs `forward` and records the result on the tape with `backward`:
///
///   // y = x^3;  dx = dy * 3 x^2
///   Tensor cube(const Tensor& x) {
///     return ag::custom_op("cube", {x},
///         [](const auto& in) { return in[0] * in[0] * in[0]; },
///         [](const auto& in, const Tensor&, const Tensor& dy) { return ag::Grads{dy * 3.0f * in[0] * in[0]}; });
///   }
///
/// Inputs and output are saved with their versions: an in-place change before backward raises.
Tensor custom_op(std::string name, const std::vector<Tensor>& inputs, const CustomForward& forward,
                 CustomBackward backward);

}  // namespace ag
