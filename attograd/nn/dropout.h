#pragma once
// Dropout: zeroes elements with probability p in training mode and scales the rest by 1/(1-p).

#include "attograd/core/random.h"
#include "attograd/nn/module.h"

namespace ag::nn {

class Dropout : public UnaryModule {
 public:
  /// Draws masks from `gen` (the default generator unless given; it must outlive the module).
  explicit Dropout(float p = 0.5f, Generator* gen = nullptr);
  std::string type_name() const override { return "Dropout"; }
  /// Identity in eval mode (torch.nn.Dropout).
  Tensor forward(const Tensor& x) override;
  float p() const { return p_; }

 private:
  float p_;
  Generator* gen_;
};

}  // namespace ag::nn
