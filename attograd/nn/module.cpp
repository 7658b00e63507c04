#include "attograd/nn/module.h"

#include <algorithm>
#include <map>
#include <set>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"

namespace ag::nn {

namespace {
void check_name(const std::string& name, const char* what) {
  check(!name.empty() && name.find('.') == std::string::npos && name.find('/') == std::string::npos,
        "{}: name '{}' must be non-empty and contain no '.' or '/'", what, name);
}
}  // namespace

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_name(name, "register_parameter");
  check(value.defined(), "register_parameter: '{}' is undefined", name);
  for (const auto& [n, _] : parameters_) check(n != name, "register_parameter: '{}' is already registered", name);
  value.requires_grad_(true);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::tie_parameter(const std::string& name, Tensor value) {
  check(value.defined() && value.requires_grad(), "tie_parameter: '{}' must be tied to a parameter", name);
  for (auto& [n, t] : parameters_) {
    if (n != name) continue;
    check(t.shape() == value.shape(), "tie_parameter: '{}' has shape {}, the tensor to tie has {}", name, t.shape(),
          value.shape());
    t = value;
    return value;
  }
  throw Error(fmt::format("tie_parameter: no parameter '{}' to tie", name));
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name(name, "register_buffer");
  for (const auto& [n, _] : buffers_) check(n != name, "register_buffer: '{}' is already registered", name);
  buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, "register_module");
  check(module != nullptr, "register_module: '{}' is null", name);
  for (const auto& [n, _] : children_) check(n != name, "register_module: '{}' is already registered", name);
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool buffers, NamedTensors& out) const {
  for (const auto& [name, t] : buffers ? buffers_ : parameters_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors all, out;
  collect("", false, all);
  std::set<const TensorImpl*> seen;
  for (auto& [name, t] : all)
    if (seen.insert(t.impl()).second) out.emplace_back(std::move(name), std::move(t));
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& [_, t] : named_parameters()) t.zero_grad();
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", false, out);
  NamedTensors buffers = named_buffers();
  out.insert(out.end(), buffers.begin(), buffers.end());
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  std::map<std::string, Tensor> given(state.begin(), state.end());
  const NamedTensors own = state_dict();
  std::vector<std::string> missing, unexpected, wrong_shape;
  std::set<std::string> own_names;
  for (const auto& [name, t] : own) {
    own_names.insert(name);
    auto it = given.find(name);
    if (it == given.end()) missing.push_back(name);
    else if (it->second.shape() != t.shape())
      wrong_shape.push_back(fmt::format("{} (expected {}, got {})", name, t.shape(), it->second.shape()));
  }
  for (const auto& [name, _] : given)
    if (!own_names.count(name)) unexpected.push_back(name);
  std::string problems;
  auto add = [&](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    problems += fmt::format("{}{}: {}", problems.empty() ? "" : "; ", what, fmt::join(names, ", "));
  };
  add("wrong shape", wrong_shape);
  if (strict) {
    add("missing", missing);
    add("unexpected", unexpected);
  }
  check(problems.empty(), "load_state_dict: {}", problems);
  // A tied tensor is saved under each of its names; different values there cannot both be loaded.
  std::map<const TensorImpl*, std::string> first_name;
  for (const auto& [name, t] : own) {
    auto [it, fresh] = first_name.emplace(t.impl(), name);
    auto a = given.find(it->second), b = given.find(name);
    if (fresh || a == given.end() || b == given.end()) continue;
    const Tensor& x = a->second;
    check(std::equal(x.data(), x.data() + x.numel(), b->second.data()),
          "load_state_dict: '{}' and '{}' are one tied tensor but the state gives them different values", it->second,
          name);
  }
  NoGradGuard no_grad;
  for (auto& [name, t] : own) {
    auto it = given.find(name);
    if (it != given.end()) Tensor(t).copy_(it->second);
  }
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [_, t] : named_parameters()) n += t.numel();
  return n;
}

std::string Module::summary() const {
  const NamedTensors params = named_parameters();
  size_t width = 10;
  for (const auto& [name, _] : params) width = std::max(width, name.size());
  std::string out = fmt::format("{}\n  {:<{}}  {:<16}  {:>10}\n", type_name(), "parameter", width, "shape", "count");
  for (const auto& [name, t] : params)
    out += fmt::format("  {:<{}}  {:<16}  {:>10}\n", name, width, to_string(t.shape()), t.numel());
  out += fmt::format("  total: {} parameters in {} tensors\n", num_parameters(), params.size());
  return out;
}

}  // namespace ag::nn
