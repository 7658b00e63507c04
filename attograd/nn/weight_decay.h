#pragma once
// Which parameters of a model the usual AdamW recipe keeps out of weight decay. nn decides this
// because it needs the module types; optim::decay_groups builds the parameter groups from the names.

#include <set>
#include <string>

#include "attograd/nn/module.h"

namespace ag::nn {

/// Names (as in named_parameters()) of the parameters that get no weight decay: every parameter of
/// a module whose type_name() is "LayerNorm" or "Embedding", and every parameter whose last name
/// component starts or ends with "bias" (bias, bias_ih_l0, in_proj_bias). All others (Linear, LSTM
/// and attention weight matrices) are decayed. Use with ag::optim::decay_groups.
std::set<std::string> no_weight_decay(Module& model);

}  // namespace ag::nn
