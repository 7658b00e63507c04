#pragma once
// Learning-rate schedules: every group's lr = its base lr * factor(step).
//
// `step` counts the scheduler.step() calls made so far, as torch's last_epoch does: it is 0 when
// the scheduler is built (which already applies factor(0)), and a training loop calls
// optimizer.step() then scheduler.step(), so optimizer update number k (1-based) runs with
// factor(k - 1). Each factor below matches torch.optim.lr_scheduler.LambdaLR with the same lambda
// (and the warmup schedules match Hugging Face's get_*_schedule_with_warmup).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attograd/optim/optimizer.h"

namespace ag::optim {

/// What a scheduler saves in a checkpoint: its type, step and the groups' base lrs.
struct SchedulerState {
  std::string type;
  int64_t step = 0;
  std::vector<double> base_lrs;
};

/// A schedule given by its factor function (torch LambdaLR); the named schedules below derive from
/// it. The base lrs are the groups' lrs when it is built; the optimizer must outlive it.
class Scheduler {
 public:
  Scheduler(Optimizer& optimizer, std::function<double(int64_t step)> factor, std::string type = "LambdaLR");
  virtual ~Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  const std::string& type_name() const { return type_; }
  /// Advances one step and sets every group's lr (torch scheduler.step()).
  void step();
  /// Jumps to `step` and sets the lrs (resuming).
  void set_step(int64_t step);
  /// Steps taken so far (torch's last_epoch).
  int64_t last_step() const { return step_; }
  /// The factor at a step, without changing anything.
  double factor(int64_t step) const { return factor_(step); }
  /// The first group's current lr; last_lr() gives every group's (torch get_last_lr()).
  double lr() const;
  std::vector<double> last_lr() const;
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  SchedulerState state_dict() const;
  /// Restores step and base lrs and sets the lrs; raises ag::Error on another type or group count.
  void load_state_dict(const SchedulerState& state);

 private:
  void apply();
  Optimizer* optimizer_;
  std::function<double(int64_t)> factor_;
  std::string type_;
  std::vector<double> base_lrs_;
  int64_t step_ = 0;
};

/// factor = f(step) for any f (torch LambdaLR).
class LambdaLR : public Scheduler {
 public:
  LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> f) : Scheduler(optimizer, std::move(f), "LambdaLR") {}
};

/// factor = 1: the lr stays at its base value. (Not torch's ConstantLR, which scales the first
/// steps by a factor; this is the "no schedule" schedule, so loops can always hold one.)
class ConstantLR : public Scheduler {
 public:
  explicit ConstantLR(Optimizer& optimizer);
};

/// factor = gamma^floor(step / step_size) (torch StepLR).
class StepLR : public Scheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
};

/// factor = step / warmup for step < warmup, then max(0, (total - step) / (total - warmup)): a
/// linear rise from 0 to 1 and a linear fall to 0 at step total (HF get_linear_schedule_with_warmup).
class WarmupLinear : public Scheduler {
 public:
  WarmupLinear(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps);
};

/// factor = step / warmup for step < warmup, then min_factor + (1 - min_factor) (1 + cos(pi q)) / 2
/// with q = min(1, (step - warmup) / (total - warmup)): a half cosine from 1 down to min_factor,
/// which it keeps after step total (HF get_cosine_schedule_with_warmup when min_factor = 0).
class WarmupCosine : public Scheduler {
 public:
  WarmupCosine(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double min_factor = 0);
};

/// factor = sqrt(w) min(step^-0.5, step w^-1.5) = min(step / w, sqrt(w / step)), w = warmup_steps:
/// the "Noam" schedule of Attention Is All You Need with d_model^-0.5 folded into the base lr.
/// It rises linearly from 0 (step 0) to 1 (step w), then decays as 1 / sqrt(step).
class InverseSqrt : public Scheduler {
 public:
  InverseSqrt(Optimizer& optimizer, int64_t warmup_steps);
};
using Noam = InverseSqrt;

}  // namespace ag::optim
