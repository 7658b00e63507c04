#pragma once
// NamedTensors: (name, tensor) pairs in a fixed order. A module's parameters and state dict come
// this way, and optimizers and gradient clipping take them, so the list lives in core, below both.

#include <string>
#include <utility>
#include <vector>

#include "attograd/core/tensor.h"

namespace ag {

/// (name, tensor) pairs in a fixed order: parameters, state dicts, optimizer parameter groups.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

}  // namespace ag
