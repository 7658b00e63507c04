#include "attograd/optim/optimizer.h"

#include <set>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/profiler.h"

namespace ag::optim {

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  check(!groups_.empty(), "optimizer: no parameter groups");
  std::set<std::string> seen;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    check(group.lr >= 0, "optimizer: group {} has a negative learning rate {}", g, group.lr);
    check(group.weight_decay >= 0, "optimizer: group {} has a negative weight_decay {}", g, group.weight_decay);
    for (const auto& [name, p] : group.params) {
      check(p.defined(), "optimizer: parameter '{}' is undefined", name);
      check(seen.insert(name).second, "optimizer: parameter '{}' appears twice in the groups", name);
    }
  }
}

void Optimizer::step() {
  const profile::OpScope scope(type_name() + ".step", {});
  NoGradGuard no_grad;
  for (const ParamGroup& group : groups_) {
    for (const auto& [name, param] : group.params) {
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      check(grad.shape() == param.shape(), "{}.step: gradient of '{}' has shape {}, the parameter {}", type_name(),
            name, grad.shape(), param.shape());
      ParamState& state = state_[name];
      ++state.step;
      Tensor p = param;
      update(group, name, p, grad, state);
    }
  }
  ++step_count_;
}

void Optimizer::zero_grad() {
  for (const ParamGroup& group : groups_)
    for (const auto& [_, p] : group.params) p.zero_grad();
}

OptimizerState Optimizer::state_dict() const {
  OptimizerState out;
  out.type = type_name();
  out.hyper_parameters = hyper_parameters();
  for (const ParamGroup& group : groups_) {
    OptimizerState::Group g{{}, group.lr, group.weight_decay};
    for (const auto& [name, _] : group.params) g.params.push_back(name);
    out.groups.push_back(std::move(g));
  }
  for (const auto& [name, state] : state_) {
    out.steps[name] = state.step;
    for (const auto& [kind, t] : state.tensors) out.tensors[kind][name] = t;
  }
  out.step = step_count_;
  return out;
}

void Optimizer::load_state_dict(const OptimizerState& state) {
  const std::string op = type_name() + ".load_state_dict";
  check(state.type == type_name(), "{}: the state was saved by a {} optimizer", op, state.type);
  check(state.groups.size() == groups_.size(), "{}: the state has {} parameter groups, this optimizer {}", op,
        state.groups.size(), groups_.size());
  std::map<std::string, Shape> shapes;
  for (size_t g = 0; g < groups_.size(); ++g) {
    std::vector<std::string> names;
    for (const auto& [name, p] : groups_[g].params) names.push_back(name), shapes[name] = p.shape();
    check(state.groups[g].params == names, "{}: group {} holds [{}] in the state but [{}] here", op, g,
          fmt::join(state.groups[g].params, ", "), fmt::join(names, ", "));
  }
  const std::map<std::string, double> own = hyper_parameters();
  for (const auto& [key, _] : own)
    check(state.hyper_parameters.count(key) > 0, "{}: hyper-parameter '{}' is missing from the state", op, key);
  for (const auto& [key, _] : state.hyper_parameters)
    check(own.count(key) > 0, "{}: unexpected hyper-parameter '{}'", op, key);
  for (const auto& [name, _] : state.steps)
    check(shapes.count(name) > 0, "{}: step count for unknown parameter '{}'", op, name);
  for (const auto& [kind, by_name] : state.tensors) {
    for (const auto& [name, t] : by_name) {
      auto it = shapes.find(name);
      check(it != shapes.end(), "{}: '{}' state for unknown parameter '{}'", op, kind, name);
      check(t.defined() && t.shape() == it->second, "{}: '{}' state of '{}' has shape {}, the parameter {}", op, kind,
            name, t.defined() ? to_string(t.shape()) : "undefined", it->second);
      check(state.steps.count(name) > 0, "{}: '{}' state of '{}' comes without a step count", op, kind, name);
    }
  }

  // Validated: now change things.
  set_hyper_parameters(state.hyper_parameters);
  for (size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].lr = state.groups[g].lr;
    groups_[g].weight_decay = state.groups[g].weight_decay;
  }
  state_.clear();
  for (const auto& [name, step] : state.steps) state_[name].step = step;
  NoGradGuard no_grad;
  for (const auto& [kind, by_name] : state.tensors)
    for (const auto& [name, t] : by_name) state_[name].tensors[kind] = empty(t.shape()).copy_(t);
  step_count_ = state.step;
}

std::vector<ParamGroup> decay_groups(const NamedTensors& params, const std::set<std::string>& no_decay, double lr,
                                     double weight_decay) {
  check(!params.empty(), "decay_groups: there are no parameters");
  std::set<std::string> unused = no_decay;
  ParamGroup decay{{}, lr, weight_decay}, plain{{}, lr, 0.0};
  for (const auto& [name, p] : params) {
    (no_decay.count(name) > 0 ? plain : decay).params.emplace_back(name, p);
    unused.erase(name);
  }
  check(unused.empty(), "decay_groups: no_decay names parameters that are not among the parameters: {}",
        fmt::join(unused, ", "));
  std::vector<ParamGroup> out;
  if (!decay.params.empty()) out.push_back(std::move(decay));
  if (!plain.params.empty()) out.push_back(std::move(plain));
  return out;
}

}  // namespace ag::optim
