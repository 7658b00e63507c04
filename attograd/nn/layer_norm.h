#pragma once
// LayerNorm over the trailing dims (torch.nn.LayerNorm): weight ones, bias zeros.

#include "attograd/nn/module.h"

namespace ag::nn {

class LayerNorm : public UnaryModule {
 public:
  LayerNorm(Shape normalized_shape, float eps = 1e-5f, bool elementwise_affine = true);
  explicit LayerNorm(int64_t size, float eps = 1e-5f) : LayerNorm(Shape{size}, eps) {}
  std::string type_name() const override { return "LayerNorm"; }
  /// x (..., *normalized_shape) -> same shape.
  Tensor forward(const Tensor& x) override;

  Tensor weight;  // normalized_shape (undefined without elementwise_affine)
  Tensor bias;

 private:
  Shape normalized_shape_;
  float eps_;
};

}  // namespace ag::nn
