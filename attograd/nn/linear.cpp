#include "attograd/nn/linear.h"

#include <cmath>

#include "attograd/core/error.h"
#include "attograd/core/ops/matmul.h"
#include "attograd/nn/init.h"

namespace ag::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias) {
  check(in_features > 0 && out_features > 0, "Linear: sizes must be positive, got in {} out {}", in_features,
        out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  init::kaiming_uniform_(weight, std::sqrt(5.0f));
  if (with_bias) {
    bias = register_parameter("bias", empty({out_features}));
    const float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

}  // namespace ag::nn
