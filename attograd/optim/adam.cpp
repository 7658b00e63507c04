#include "attograd/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "attograd/core/error.h"
#include "attograd/core/threads.h"

namespace ag::optim {

Adam::Adam(const NamedTensors& params, double lr, Betas betas, double eps, double weight_decay, bool amsgrad)
    : Adam(std::vector<ParamGroup>{ParamGroup{params, lr, weight_decay}}, betas, eps, amsgrad, false) {}

Adam::Adam(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad)
    : Adam(std::move(groups), betas, eps, amsgrad, false) {}

Adam::Adam(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad, bool decoupled)
    : Optimizer(std::move(groups)),
      beta1_(betas.first),
      beta2_(betas.second),
      eps_(eps),
      amsgrad_(amsgrad),
      decoupled_(decoupled) {
  validate(beta1_, beta2_, eps_);
}

void Adam::validate(double beta1, double beta2, double eps) const {
  const char* name = decoupled_ ? "AdamW" : "Adam";
  check(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "{}: betas ({}, {}) must lie in [0, 1)", name, beta1,
        beta2);
  check(eps >= 0, "{}: eps {} is negative", name, eps);
}

std::map<std::string, double> Adam::hyper_parameters() const {
  return {{"beta1", beta1_}, {"beta2", beta2_}, {"eps", eps_}, {"amsgrad", amsgrad_ ? 1.0 : 0.0}};
}

void Adam::set_hyper_parameters(const std::map<std::string, double>& values) {
  validate(values.at("beta1"), values.at("beta2"), values.at("eps"));
  beta1_ = values.at("beta1");
  beta2_ = values.at("beta2");
  eps_ = values.at("eps");
  amsgrad_ = values.at("amsgrad") != 0;
}

namespace {
// The state tensor of `kind`, zeros on a parameter's first update.
float* state_of(Optimizer::ParamState& state, const char* kind, const Tensor& p) {
  auto [it, fresh] = state.tensors.try_emplace(kind);
  if (fresh) it->second = zeros(p.shape());
  return it->second.mutable_data();
}

struct AdamConstants {
  float step_size, correction2_sqrt, b1, b2, one_minus_b1, one_minus_b2, eps, l2, shrink;
};

// One Adam update of elements [begin, end), with the options fixed at compile time so that the loop
// has no branch and vectorises (the same operations on each element as one at a time).
template <bool kL2, bool kShrink, bool kAmsgrad>
void adam_elements(int64_t begin, int64_t end, const AdamConstants& k, float* __restrict w, const float* __restrict g,
                   float* __restrict m, float* __restrict v, float* __restrict vmax) {
  for (int64_t i = begin; i < end; ++i) {
    const float gi = kL2 ? g[i] + k.l2 * w[i] : g[i];
    float wi = w[i];
    if constexpr (kShrink) wi *= k.shrink;
    const float mi = k.b1 * m[i] + k.one_minus_b1 * gi;
    const float vi = k.b2 * v[i] + k.one_minus_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float second = vi;
    if constexpr (kAmsgrad) second = vmax[i] = std::max(vmax[i], vi);
    w[i] = wi - k.step_size * (mi / (std::sqrt(second) / k.correction2_sqrt + k.eps));
  }
}

using AdamLoop = void (*)(int64_t, int64_t, const AdamConstants&, float*, const float*, float*, float*, float*);

template <bool kL2, bool kShrink>
AdamLoop adam_loop(bool amsgrad) {
  return amsgrad ? &adam_elements<kL2, kShrink, true> : &adam_elements<kL2, kShrink, false>;
}
}  // namespace

// p, g, m, v, vmax: n floats; t = this parameter's step.
// g' = g + wd p (Adam) or p *= 1 - lr wd (AdamW);  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;
// vmax = max(vmax, v);  p -= lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)
void Adam::update(const ParamGroup& group, const std::string&, Tensor& p, const Tensor& grad, ParamState& state) {
  const int64_t n = p.numel();
  const double t = static_cast<double>(state.step);
  AdamConstants k;
  k.step_size = static_cast<float>(group.lr / (1 - std::pow(beta1_, t)));
  k.correction2_sqrt = static_cast<float>(std::sqrt(1 - std::pow(beta2_, t)));
  k.b1 = static_cast<float>(beta1_), k.b2 = static_cast<float>(beta2_);
  k.one_minus_b1 = static_cast<float>(1 - beta1_), k.one_minus_b2 = static_cast<float>(1 - beta2_);
  k.eps = static_cast<float>(eps_);
  k.l2 = decoupled_ ? 0.0f : static_cast<float>(group.weight_decay);
  k.shrink = decoupled_ ? static_cast<float>(1 - group.lr * group.weight_decay) : 1.0f;
  float* w = p.mutable_data();
  const float* g = grad.data();
  float* m = state_of(state, "exp_avg", p);
  float* v = state_of(state, "exp_avg_sq", p);
  float* vmax = amsgrad_ ? state_of(state, "max_exp_avg_sq", p) : nullptr;
  const bool l2 = k.l2 != 0.0f, shrink = k.shrink != 1.0f;
  const AdamLoop loop = l2 ? (shrink ? adam_loop<true, true>(amsgrad_) : adam_loop<true, false>(amsgrad_))
                           : (shrink ? adam_loop<false, true>(amsgrad_) : adam_loop<false, false>(amsgrad_));
  parallel_for(n, 1 << 13, [&](int64_t begin, int64_t end) { loop(begin, end, k, w, g, m, v, vmax); });
}

AdamW::AdamW(const NamedTensors& params, double lr, Betas betas, double eps, double weight_decay, bool amsgrad)
    : Adam(std::vector<ParamGroup>{ParamGroup{params, lr, weight_decay}}, betas, eps, amsgrad, true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad)
    : Adam(std::move(groups), betas, eps, amsgrad, true) {}

}  // namespace ag::optim
