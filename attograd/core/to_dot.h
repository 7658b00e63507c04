#pragma once
// to_dot: the graph autograd recorded behind a tensor, as Graphviz DOT, to look at what backward()
// will walk (torchviz's make_dot).

#include <string>

#include "attograd/core/named_tensors.h"
#include "attograd/core/tensor.h"

namespace ag {

/// The recorded graph that ends in `root`, as a Graphviz DOT digraph drawn in the direction of the
/// forward pass: a box per op (its name and output shape), a blue ellipse per leaf that requires
/// grad (its shape, and its name when `names` holds it, e.g. model.named_parameters()), a grey
/// note per input that needs no gradient (data, masks, constants), and an arrow from each input to
/// the op that used it. Call it before backward(), which frees the graph (unless retain_graph).
/// Render with `dot -Tsvg graph.dot -o graph.svg`.
std::string to_dot(const Tensor& root, const NamedTensors& names = {});

}  // namespace ag
