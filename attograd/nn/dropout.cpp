#include "attograd/nn/dropout.h"

#include "attograd/core/error.h"
#include "attograd/core/ops/dropout.h"

namespace ag::nn {

Dropout::Dropout(float p, Generator* gen) : p_(p), gen_(gen ? gen : &default_generator()) {
  check(p >= 0.0f && p <= 1.0f, "Dropout: p must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training(), *gen_); }

}  // namespace ag::nn
