#pragma once
// Linear: y = x W^T + b (torch.nn.Linear), weight (out, in), bias (out).

#include "attograd/nn/module.h"

namespace ag::nn {

class Linear : public UnaryModule {
 public:
  /// torch's init: W and b ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt 5).
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  std::string type_name() const override { return "Linear"; }
  /// x (..., in) -> (..., out).
  Tensor forward(const Tensor& x) override;

  Tensor weight;  // (out, in)
  Tensor bias;    // (out), undefined without bias
};

}  // namespace ag::nn
