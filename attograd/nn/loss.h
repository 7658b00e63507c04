#pragma once
// Losses as modules over the core functions (torch.nn.CrossEntropyLoss, BCEWithLogitsLoss, MSELoss).

#include "attograd/core/ops/loss.h"
#include "attograd/nn/module.h"

namespace ag::nn {

class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(int64_t ignore_index = -100, float label_smoothing = 0.0f,
                            Reduction reduction = Reduction::Mean)
      : ignore_index_(ignore_index), label_smoothing_(label_smoothing), reduction_(reduction) {}
  std::string type_name() const override { return "CrossEntropyLoss"; }
  /// logits (..., C) with the class dim last, targets (...).
  Tensor operator()(const Tensor& logits, const IntTensor& targets) const {
    return cross_entropy(logits, targets, ignore_index_, label_smoothing_, reduction_);
  }

 private:
  int64_t ignore_index_;
  float label_smoothing_;
  Reduction reduction_;
};

class BCEWithLogitsLoss : public Module {
 public:
  explicit BCEWithLogitsLoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
  std::string type_name() const override { return "BCEWithLogitsLoss"; }
  Tensor operator()(const Tensor& logits, const Tensor& targets) const {
    return binary_cross_entropy_with_logits(logits, targets, reduction_);
  }

 private:
  Reduction reduction_;
};

class MSELoss : public Module {
 public:
  explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
  std::string type_name() const override { return "MSELoss"; }
  Tensor operator()(const Tensor& input, const Tensor& target) const { return mse_loss(input, target, reduction_); }

 private:
  Reduction reduction_;
};

}  // namespace ag::nn
