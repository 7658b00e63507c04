#pragma once
// Adam (torch.optim.Adam, L2 weight decay added to the gradient) and AdamW (torch.optim.AdamW,
// decoupled weight decay).

#include <utility>

#include "attograd/optim/optimizer.h"

namespace ag::optim {

/// Per parameter, at its step t (1 on its first update), torch 1.13's update:
///   g = g + weight_decay p                                   (Adam only: L2 penalty)
///   p = p (1 - lr weight_decay)                              (AdamW only: decoupled decay)
///   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
///   vmax = max(vmax, v) and use it for v                     (amsgrad)
///   step_size = lr / (1 - beta1^t);   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
///   p -= step_size m / denom
/// State kinds "exp_avg", "exp_avg_sq" and (amsgrad) "max_exp_avg_sq", as torch names them.
class Adam : public Optimizer {
 public:
  using Betas = std::pair<double, double>;
  /// One group (torch.optim.Adam(params, lr, betas, eps, weight_decay, amsgrad)).
  explicit Adam(const NamedTensors& params, double lr = 1e-3, Betas betas = {0.9, 0.999}, double eps = 1e-8,
                double weight_decay = 0, bool amsgrad = false);
  /// Several groups, each with its lr and weight_decay.
  explicit Adam(std::vector<ParamGroup> groups, Betas betas = {0.9, 0.999}, double eps = 1e-8, bool amsgrad = false);
  std::string type_name() const override { return "Adam"; }
  std::map<std::string, double> hyper_parameters() const override;

 protected:
  Adam(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad, bool decoupled);
  void update(const ParamGroup& group, const std::string& name, Tensor& p, const Tensor& grad,
              ParamState& state) override;
  void set_hyper_parameters(const std::map<std::string, double>& values) override;

 private:
  void validate(double beta1, double beta2, double eps) const;
  double beta1_, beta2_, eps_;
  bool amsgrad_;
  bool decoupled_;  // AdamW
};

/// Adam with decoupled weight decay (Loshchilov & Hutter): torch.optim.AdamW, weight_decay 1e-2 by
/// default. decay_groups(params, nn::no_weight_decay(model), lr, wd) keeps biases, LayerNorm and
/// embeddings out of the decay.
class AdamW : public Adam {
 public:
  /// One group (torch.optim.AdamW(params, lr, betas, eps, weight_decay, amsgrad)).
  explicit AdamW(const NamedTensors& params, double lr = 1e-3, Betas betas = {0.9, 0.999}, double eps = 1e-8,
                 double weight_decay = 1e-2, bool amsgrad = false);
  /// Several groups, each with its lr and weight_decay (e.g. from decay_groups()).
  explicit AdamW(std::vector<ParamGroup> groups, Betas betas = {0.9, 0.999}, double eps = 1e-8, bool amsgrad = false);
  std::string type_name() const override { return "AdamW"; }
};

}  // namespace ag::optim
