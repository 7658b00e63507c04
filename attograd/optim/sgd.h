#pragma once
// SGD with momentum, dampening, weight decay and Nesterov momentum (torch.optim.SGD).

#include "attograd/optim/optimizer.h"

namespace ag::optim {

/// Per parameter, torch 1.13's update:
///   d = g + weight_decay p
///   buf = d on the first update, else momentum buf + (1 - dampening) d      (when momentum != 0)
///   d = nesterov ? d + momentum buf : buf                                    (when momentum != 0)
///   p -= lr d
/// State kind "momentum_buffer" (torch's name) when momentum != 0.
class SGD : public Optimizer {
 public:
  /// One group (torch.optim.SGD(model.parameters(), lr, momentum, dampening, weight_decay, nesterov)).
  SGD(const NamedTensors& params, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
      bool nesterov = false);
  /// Several groups, each with its lr and weight_decay.
  explicit SGD(std::vector<ParamGroup> groups, double momentum = 0, double dampening = 0, bool nesterov = false);
  std::string type_name() const override { return "SGD"; }
  std::map<std::string, double> hyper_parameters() const override;

 protected:
  void update(const ParamGroup& group, const std::string& name, Tensor& p, const Tensor& grad,
              ParamState& state) override;
  void set_hyper_parameters(const std::map<std::string, double>& values) override;

 private:
  static void validate(double momentum, double dampening, bool nesterov);
  double momentum_, dampening_;
  bool nesterov_;
};

}  // namespace ag::optim
