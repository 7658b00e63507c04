#pragma once
// Module: the base of every layer. It owns named parameters and child modules, and from them gives
// torch's named_parameters(), state_dict(), train()/eval() and a printed summary.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attograd/core/named_tensors.h"
#include "attograd/core/tensor.h"

namespace ag::nn {

/// ag::NamedTensors (attograd/core/named_tensors.h), also spelled nn::NamedTensors.
using ag::NamedTensors;

/// Base class of layers (torch.nn.Module). A layer registers its parameters and children in its
/// constructor; names are joined with '.' ("encoder.layers.0.self_attn.in_proj_weight") and follow
/// torch's, so state dicts move between attograd and PyTorch unchanged.
class Module {
 public:
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The layer's class name as summary() prints it ("Linear", "LSTM").
  virtual std::string type_name() const { return "Module"; }

  /// Registers a parameter (marks it requires_grad) and returns it. torch register_parameter.
  Tensor register_parameter(const std::string& name, Tensor value);
  /// Points the registered parameter `name` of this module at `value`, a parameter of another module,
  /// so the two are one tensor (weight tying; torch `module.name = other.weight`). Shapes must match.
  /// The tied tensor appears once in named_parameters() (so it is trained once) and under both names
  /// in state_dict(), as in torch. Returns value, for the layer's own member.
  Tensor tie_parameter(const std::string& name, Tensor value);
  /// Registers a tensor that is saved in the state dict but not trained. torch register_buffer.
  Tensor register_buffer(const std::string& name, Tensor value);
  /// Registers a child module under `name` and returns it. torch register_module / add_module.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  /// Parameters of this module and its descendants, '.'-joined names, registration order; a tied
  /// tensor once, under its first name (torch's remove_duplicate).
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  /// Buffers, likewise.
  NamedTensors named_buffers() const;
  /// This module (name "") and every descendant, depth first in registration order.
  std::vector<std::pair<std::string, Module*>> named_modules();
  /// Direct children in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  /// Training mode (dropout active) for this module and its descendants; eval() is train(false).
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// Drops every parameter's gradient.
  void zero_grad();

  /// Parameters then buffers, by name (torch state_dict(); values are shared, not copied); a tied
  /// tensor under each of its names.
  NamedTensors state_dict() const;
  /// Copies values into the parameters and buffers. Raises ag::Error naming every missing,
  /// unexpected or wrongly shaped name; `strict = false` ignores missing and unexpected names.
  void load_state_dict(const NamedTensors& state, bool strict = true);

  /// A table of parameter names, shapes and counts, with the total.
  std::string summary() const;
  /// Number of trainable scalars.
  int64_t num_parameters() const;

 protected:
  Module() = default;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, bool buffers, NamedTensors& out) const;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// A module with one tensor in and one tensor out, so it can sit in a Sequential.
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace ag::nn
