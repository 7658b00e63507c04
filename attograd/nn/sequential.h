#pragma once
// Sequential: modules applied in order, named "0", "1", ... (torch.nn.Sequential); and the
// parameter-free activation modules that usually sit in one.

#include <memory>
#include <vector>

#include "attograd/nn/module.h"

namespace ag::nn {

class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> modules);
  std::string type_name() const override { return "Sequential"; }
  /// Appends a module, named by its position.
  void push_back(std::shared_ptr<UnaryModule> module);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return modules_.size(); }
  UnaryModule& operator[](size_t i) { return *modules_.at(i); }

 private:
  std::vector<std::shared_ptr<UnaryModule>> modules_;
};

/// Activations as modules (torch.nn.ReLU, Tanh, Sigmoid, GELU).
class ReLU : public UnaryModule {
 public:
  std::string type_name() const override { return "ReLU"; }
  Tensor forward(const Tensor& x) override;
};
class Tanh : public UnaryModule {
 public:
  std::string type_name() const override { return "Tanh"; }
  Tensor forward(const Tensor& x) override;
};
class Sigmoid : public UnaryModule {
 public:
  std::string type_name() const override { return "Sigmoid"; }
  Tensor forward(const Tensor& x) override;
};
class GELU : public UnaryModule {
 public:
  std::string type_name() const override { return "GELU"; }
  Tensor forward(const Tensor& x) override;
};

}  // namespace ag::nn
