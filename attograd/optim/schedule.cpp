#include "attograd/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "attograd/core/error.h"

namespace ag::optim {

Scheduler::Scheduler(Optimizer& optimizer, std::function<double(int64_t)> factor, std::string type)
    : optimizer_(&optimizer), factor_(std::move(factor)), type_(std::move(type)) {
  check(static_cast<bool>(factor_), "{}: no factor function", type_);
  for (const ParamGroup& g : optimizer.param_groups()) base_lrs_.push_back(g.lr);
  apply();
}

void Scheduler::apply() {
  const double f = factor_(step_);
  std::vector<ParamGroup>& groups = optimizer_->param_groups();
  check(groups.size() == base_lrs_.size(), "{}: the optimizer has {} groups, the scheduler {} base lrs", type_,
        groups.size(), base_lrs_.size());
  for (size_t i = 0; i < groups.size(); ++i) groups[i].lr = base_lrs_[i] * f;
}

void Scheduler::step() {
  ++step_;
  apply();
}

void Scheduler::set_step(int64_t step) {
  check(step >= 0, "{}: step {} is negative", type_, step);
  step_ = step;
  apply();
}

double Scheduler::lr() const { return optimizer_->param_groups().at(0).lr; }

std::vector<double> Scheduler::last_lr() const {
  std::vector<double> out;
  for (const ParamGroup& g : optimizer_->param_groups()) out.push_back(g.lr);
  return out;
}

SchedulerState Scheduler::state_dict() const { return {type_, step_, base_lrs_}; }

void Scheduler::load_state_dict(const SchedulerState& state) {
  check(state.type == type_, "{}.load_state_dict: the state was saved by a {} schedule", type_, state.type);
  check(state.base_lrs.size() == optimizer_->param_groups().size(),
        "{}.load_state_dict: the state has {} base lrs, the optimizer {} groups", type_, state.base_lrs.size(),
        optimizer_->param_groups().size());
  check(state.step >= 0, "{}.load_state_dict: step {} is negative", type_, state.step);
  base_lrs_ = state.base_lrs;
  step_ = state.step;
  apply();
}

ConstantLR::ConstantLR(Optimizer& optimizer) : Scheduler(optimizer, [](int64_t) { return 1.0; }, "ConstantLR") {}

namespace {
std::function<double(int64_t)> step_lr(int64_t step_size, double gamma) {
  check(step_size > 0, "StepLR: step_size {} must be positive", step_size);
  return [=](int64_t s) { return std::pow(gamma, static_cast<double>(s / step_size)); };
}

// The linear rise shared by the warmup schedules: s / w for s < w.
double warmup(int64_t s, int64_t w) { return static_cast<double>(s) / static_cast<double>(w); }

std::function<double(int64_t)> warmup_linear(int64_t w, int64_t total) {
  check(w >= 0 && total > w, "WarmupLinear: need 0 <= warmup_steps ({}) < total_steps ({})", w, total);
  return [=](int64_t s) {
    if (s < w) return warmup(s, w);
    return std::max(0.0, static_cast<double>(total - s) / static_cast<double>(total - w));
  };
}

std::function<double(int64_t)> warmup_cosine(int64_t w, int64_t total, double min_factor) {
  check(w >= 0 && total > w, "WarmupCosine: need 0 <= warmup_steps ({}) < total_steps ({})", w, total);
  check(min_factor >= 0 && min_factor <= 1, "WarmupCosine: min_factor {} must lie in [0, 1]", min_factor);
  return [=](int64_t s) {
    if (s < w) return warmup(s, w);
    const double q = std::min(1.0, static_cast<double>(s - w) / static_cast<double>(total - w));
    return min_factor + (1 - min_factor) * 0.5 * (1 + std::cos(std::numbers::pi * q));
  };
}

std::function<double(int64_t)> inverse_sqrt(int64_t w) {
  check(w > 0, "InverseSqrt: warmup_steps {} must be positive", w);
  return [=](int64_t s) {
    const double n = static_cast<double>(s), wd = static_cast<double>(w);
    return s <= w ? n / wd : std::sqrt(wd / n);
  };
}
}  // namespace

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : Scheduler(optimizer, step_lr(step_size, gamma), "StepLR") {}

WarmupLinear::WarmupLinear(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps)
    : Scheduler(optimizer, warmup_linear(warmup_steps, total_steps), "WarmupLinear") {}

WarmupCosine::WarmupCosine(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double min_factor)
    : Scheduler(optimizer, warmup_cosine(warmup_steps, total_steps, min_factor), "WarmupCosine") {}

InverseSqrt::InverseSqrt(Optimizer& optimizer, int64_t warmup_steps)
    : Scheduler(optimizer, inverse_sqrt(warmup_steps), "InverseSqrt") {}

}  // namespace ag::optim
