// Writing your own layer: a Module built from existing ops (a highway layer), and an op with its own
// hand-written backward (softplus). Both are gradient-checked, then trained together on a toy task.
#include <cmath>

#include <fmt/format.h>

#include "attograd/core/core.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/module.h"

using ag::Tensor;

// ---- 1. A new op with its own backward ------------------------------------------------------------
// y = softplus(x) = log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows;
// dx = dy * sigmoid(x)
Tensor softplus(const Tensor& x) {
  return ag::custom_op(
      "softplus", {x},
      [](const std::vector<Tensor>& in) {  // forward: plain loops over the data, nothing recorded
        Tensor y = ag::empty(in[0].shape());
        const float* px = in[0].data();
        for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = std::max(px[i], 0.0f) + std::log1p(std::exp(-std::fabs(px[i])));
        return y;
      },
      [](const std::vector<Tensor>& in, const Tensor& /*y*/, const Tensor& dy) {  // backward: one gradient per input
        return ag::Grads{dy * ag::sigmoid(in[0])};
      });
}

// ---- 2. A new layer built from existing ops -------------------------------------------------------
// Highway layer (Srivastava et al., 2015): y = g * softplus(W_h x + b_h) + (1 - g) * x, with the gate
// g = sigmoid(W_g x + b_g). Its parameters are named transform.weight, transform.bias, gate.weight,
// gate.bias. No backward to write: every op it uses records its own.
class Highway : public ag::nn::UnaryModule {
 public:
  explicit Highway(int64_t size) {
    transform = register_module("transform", std::make_shared<ag::nn::Linear>(size, size));
    gate = register_module("gate", std::make_shared<ag::nn::Linear>(size, size));
    ag::NoGradGuard no_grad;
    gate->bias.fill_(-1.0f);  // start by mostly carrying x through, as the paper recommends
  }
  std::string type_name() const override { return "Highway"; }

  /// x (..., size) -> (..., size).
  Tensor forward(const Tensor& x) override {
    Tensor g = ag::sigmoid(gate->forward(x));
    return g * softplus(transform->forward(x)) + (1.0f - g) * x;
  }

  std::shared_ptr<ag::nn::Linear> transform, gate;
};

int main() {
  ag::set_num_threads(1);
  ag::manual_seed(0);
  ag::Generator gen(1);
  int failures = 0;

  // Check the op's backward against finite differences, at inputs across its range.
  Tensor x = ag::uniform({4, 5}, -3.0f, 3.0f, gen).requires_grad_();
  auto r = ag::gradcheck([](const std::vector<Tensor>& in) { return softplus(in[0]); }, {x});
  fmt::print("gradcheck softplus: {}\n", r.ok ? "ok" : r.message);
  failures += !r.ok;

  // Check the layer: gradients of its input and of every parameter.
  Highway layer(5);
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : layer.parameters()) inputs.push_back(p);
  r = ag::gradcheck([&](const std::vector<Tensor>&) { return layer.forward(x); }, inputs);
  fmt::print("gradcheck Highway (input and {} parameters): {}\n", inputs.size() - 1, r.ok ? "ok" : r.message);
  failures += !r.ok;
  fmt::print("\n{}\n", layer.summary());

  // Train two highway layers and a readout to fit y = sin(x1) + x2^2 / 4 on random points.
  Highway h1(2), h2(2);
  ag::nn::Linear readout(2, 1);
  std::vector<Tensor> params;
  for (ag::nn::Module* m : std::initializer_list<ag::nn::Module*>{&h1, &h2, &readout})
    for (const Tensor& p : m->parameters()) params.push_back(p);
  Tensor points = ag::uniform({256, 2}, -2.0f, 2.0f, gen);
  Tensor target = ag::empty({256, 1});
  for (int64_t i = 0; i < 256; ++i)
    target.data()[i] = std::sin(points.at({i, 0})) + points.at({i, 1}) * points.at({i, 1}) / 4.0f;
  float first = 0, last = 0;
  for (int step = 0; step <= 500; ++step) {
    Tensor loss = ag::mse_loss(readout(h2(h1(points))), target);
    loss.backward();
    ag::NoGradGuard no_grad;
    for (Tensor p : params) {
      p.add_(p.grad(), -0.1f);
      p.zero_grad();
    }
    if (step == 0) first = loss.item();
    last = loss.item();
    if (step % 100 == 0) fmt::print("step {:3}  mse {:.4f}\n", step, last);
  }
  fmt::print("summary: gradchecks {}; mse {:.4f} -> {:.4f} in 500 steps\n", failures ? "FAILED" : "passed", first, last);
  return failures == 0 && last < first ? 0 : 1;
}
