#pragma once
// dropout: zeroes each element with probability p and scales the rest by 1 / (1 - p).

#include "attograd/core/tensor.h"

namespace ag {

class Generator;

/// Inverted dropout, same shape as x (F.dropout(x, p, training)). Element i is kept when
/// gen.uniform_at(base + i) >= p, base = gen.advance(x.numel()), so the mask depends on the
/// generator's state only, never on the thread count. Returns x itself when !training or p == 0, and
/// zeros (drawing nothing) when p == 1; p outside [0, 1] raises.
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

}  // namespace ag
