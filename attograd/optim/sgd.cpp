#include "attograd/optim/sgd.h"

#include "attograd/core/error.h"
#include "attograd/core/threads.h"

namespace ag::optim {

SGD::SGD(const NamedTensors& params, double lr, double momentum, double dampening, double weight_decay,
         bool nesterov)
    : SGD(std::vector<ParamGroup>{ParamGroup{params, lr, weight_decay}}, momentum, dampening, nesterov) {}

SGD::SGD(std::vector<ParamGroup> groups, double momentum, double dampening, bool nesterov)
    : Optimizer(std::move(groups)), momentum_(momentum), dampening_(dampening), nesterov_(nesterov) {
  validate(momentum, dampening, nesterov);
}

void SGD::validate(double momentum, double dampening, bool nesterov) {
  check(momentum >= 0, "SGD: momentum {} is negative", momentum);
  check(!nesterov || (momentum > 0 && dampening == 0), "SGD: nesterov needs momentum > 0 and dampening 0 (got {}, {})",
        momentum, dampening);
}

std::map<std::string, double> SGD::hyper_parameters() const {
  return {{"momentum", momentum_}, {"dampening", dampening_}, {"nesterov", nesterov_ ? 1.0 : 0.0}};
}

void SGD::set_hyper_parameters(const std::map<std::string, double>& values) {
  validate(values.at("momentum"), values.at("dampening"), values.at("nesterov") != 0);
  momentum_ = values.at("momentum");
  dampening_ = values.at("dampening");
  nesterov_ = values.at("nesterov") != 0;
}

// p, grad, buf: n floats.  d = g + wd p;  buf = mu buf + (1 - dampening) d (buf = d at first);
// d = nesterov ? d + mu buf : buf;  p -= lr d
void SGD::update(const ParamGroup& group, const std::string&, Tensor& p, const Tensor& grad, ParamState& state) {
  const int64_t n = p.numel();
  const float lr = static_cast<float>(group.lr), wd = static_cast<float>(group.weight_decay);
  const float mu = static_cast<float>(momentum_), keep = static_cast<float>(1 - dampening_);
  float* w = p.mutable_data();
  const float* g = grad.data();
  if (momentum_ == 0) {
    parallel_for(n, 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) w[i] -= lr * (g[i] + wd * w[i]);
    });
    return;
  }
  // Plain variables, not a structured binding: the lambda below captures `first`, and clang before 16
  // cannot capture a binding.
  const auto emplaced = state.tensors.try_emplace("momentum_buffer");
  Tensor& buffer = emplaced.first->second;
  const bool first = emplaced.second;
  if (first) buffer = empty(p.shape());
  float* buf = buffer.mutable_data();
  const bool nesterov = nesterov_;
  parallel_for(n, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float d = g[i] + wd * w[i];
      buf[i] = first ? d : mu * buf[i] + keep * d;
      w[i] -= lr * (nesterov ? d + mu * buf[i] : buf[i]);
    }
  });
}

}  // namespace ag::optim
