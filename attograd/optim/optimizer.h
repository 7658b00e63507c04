#pragma once
// Optimizer: the base of SGD, Adam and AdamW (torch.optim.Optimizer). It owns parameter groups and
// per-parameter state (momentum buffers, moment estimates, step counts) and can hand all of it to a
// checkpoint and take it back.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "attograd/core/named_tensors.h"
#include "attograd/core/tensor.h"

namespace ag::optim {

/// Parameters that share a learning rate and a weight decay (one entry of torch's param_groups).
/// Names are the model's parameter names; they name the optimizer's state in checkpoints.
struct ParamGroup {
  NamedTensors params;
  double lr;
  double weight_decay = 0;
};

/// What an optimizer's state looks like outside it (torch's optimizer.state_dict()): everything a
/// checkpoint needs to resume the optimizer exactly.
struct OptimizerState {
  struct Group {
    std::vector<std::string> params;  // parameter names, in the group's order
    double lr = 0;
    double weight_decay = 0;
  };
  std::string type;                                              // "SGD", "Adam", "AdamW"
  std::map<std::string, double> hyper_parameters;                // optimizer-wide: momentum, beta1, eps...
  std::vector<Group> groups;
  std::map<std::string, std::map<std::string, Tensor>> tensors;  // kind ("exp_avg") -> parameter -> state
  std::map<std::string, int64_t> steps;                          // parameter -> updates it received
  int64_t step = 0;                                              // optimizer.step() calls
};

/// Base of the optimizers. step() updates, in place and under NoGradGuard, every parameter whose
/// gradient is defined; a parameter without a gradient is skipped, and its step count stays put
/// (torch 1.13 keeps one step per parameter, as Adam's bias correction needs).
class Optimizer {
 public:
  /// State of one parameter: tensors by kind ("exp_avg", "momentum_buffer") and its step count.
  struct ParamState {
    std::map<std::string, Tensor> tensors;
    int64_t step = 0;
  };

  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// "SGD", "Adam", "AdamW".
  virtual std::string type_name() const = 0;

  /// One update of every parameter that has a gradient (torch optimizer.step()).
  virtual void step();
  /// Drops every parameter's gradient (torch zero_grad(set_to_none=True)).
  void zero_grad();

  /// The groups; change lr / weight_decay here (LR schedules do).
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  /// Optimizer-wide hyper-parameters by name (SGD: momentum, dampening, nesterov; Adam: beta1,
  /// beta2, eps, amsgrad; booleans are 0 or 1).
  virtual std::map<std::string, double> hyper_parameters() const = 0;
  /// Per-parameter state, by parameter name (absent until a parameter's first update).
  const std::map<std::string, ParamState>& state() const { return state_; }
  /// Number of step() calls so far.
  int64_t step_count() const { return step_count_; }

  /// Everything needed to resume: hyper-parameters, groups, state tensors (shared, not copied), steps.
  OptimizerState state_dict() const;
  /// Restores a state_dict() (copies the tensors). Raises ag::Error naming a different optimizer
  /// type, different groups, unknown or missing hyper-parameters, and unknown or misshaped state.
  void load_state_dict(const OptimizerState& state);

 protected:
  /// Updates parameter `p` (named `name`, in `group`) in place from `grad`; `state.step` has
  /// already been incremented for this update. Runs under NoGradGuard. Write p and the state
  /// tensors through mutable_data(), so that a backward that saved them raises rather than reading
  /// the new values.
  virtual void update(const ParamGroup& group, const std::string& name, Tensor& p, const Tensor& grad,
                      ParamState& state) = 0;
  /// Sets the optimizer-wide hyper-parameters from a checkpoint (all names of hyper_parameters()).
  virtual void set_hyper_parameters(const std::map<std::string, double>& values) = 0;

 private:
  std::vector<ParamGroup> groups_;
  std::map<std::string, ParamState> state_;
  int64_t step_count_ = 0;
};

/// Splits parameters into a weight-decay group and a no-decay group (the usual AdamW recipe): the
/// parameters named in `no_decay` go to the second group (weight_decay 0), all others to the first;
/// each group keeps the order of `params`. Both groups get `lr`; an empty group is left out. Raises
/// ag::Error when `params` is empty or `no_decay` names a parameter `params` does not hold. For a
/// model: decay_groups(model.named_parameters(), nn::no_weight_decay(model), lr, weight_decay).
std::vector<ParamGroup> decay_groups(const NamedTensors& params, const std::set<std::string>& no_decay, double lr,
                                     double weight_decay);

}  // namespace ag::optim
