#include "attograd/nn/lstm.h"

#include <cmath>
#include <string>

#include "attograd/core/error.h"
#include "attograd/core/ops/dropout.h"
#include "attograd/core/ops/lstm.h"
#include "attograd/core/ops/shape_ops.h"
#include "attograd/nn/init.h"

namespace ag::nn {

namespace {

// Registers one layer-direction's four parameters under torch's names and draws them (torch's
// reset_parameters: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), in registration order).
LSTMWeights make_weights(Module& m, const std::string& suffix, int64_t in, int64_t H, bool bias) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(H));
  auto add = [&](const std::string& name, Shape shape) {
    Tensor t = m.register_parameter(name + suffix, empty(std::move(shape)));
    init::uniform_(t, -bound, bound);
    return t;
  };
  LSTMWeights w;
  w.weight_ih = add("weight_ih", {4 * H, in});
  w.weight_hh = add("weight_hh", {4 * H, H});
  if (bias) {
    w.bias_ih = add("bias_ih", {4 * H});
    w.bias_hh = add("bias_hh", {4 * H});
  }
  return w;
}

// Entry `index` of a stacked state (L * D, B, H) as (B, H); differentiable.
Tensor state_at(const Tensor& state, int64_t index, int64_t count) {
  if (!state.defined()) return {};
  const int64_t B = state.size(1), H = state.size(2);
  return count == 1 ? state.reshape({B, H}) : narrow(state, 0, index, 1).reshape({B, H});
}

// (B, H) tensors stacked into (count, B, H).
Tensor stack_states(const std::vector<Tensor>& states) {
  return states.size() == 1 ? unsqueeze(states[0], 0) : stack(states, 0);
}

}  // namespace

LSTM::LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bidirectional, float dropout,
           Generator* gen)
    : input_size_(input_size),
      hidden_size_(hidden_size),
      num_layers_(num_layers),
      bidirectional_(bidirectional),
      dropout_(dropout),
      gen_(gen ? gen : &default_generator()) {
  check(input_size > 0 && hidden_size > 0 && num_layers > 0,
        "LSTM: input_size, hidden_size and num_layers must be positive, got {}, {}, {}", input_size, hidden_size,
        num_layers);
  check(dropout >= 0.0f && dropout <= 1.0f, "LSTM: dropout must be in [0, 1], got {}", dropout);
  const int64_t D = bidirectional ? 2 : 1;
  for (int64_t k = 0; k < num_layers; ++k) {
    const int64_t in = k == 0 ? input_size : D * hidden_size;
    for (int64_t d = 0; d < D; ++d)
      weights.push_back(make_weights(*this, "_l" + std::to_string(k) + (d == 1 ? "_reverse" : ""), in, hidden_size,
                                     true));
  }
}

// Layer k runs lstm_layer forward (and reverse) over the previous layer's output (the halves
// concatenated), with dropout between layers in train mode; h_n, c_n collect every layer-direction's
// final states in torch's order.
LSTMOutput LSTM::forward(const Tensor& x, const IntTensor& lengths, const Tensor& h0, const Tensor& c0) {
  check(x.defined(), "LSTM: the input is undefined");
  check(x.dim() == 3 && x.size(2) == input_size_, "LSTM: input {} does not match input_size {} (expected (B, T, {}))",
        x.shape(), input_size_, input_size_);
  const int64_t B = x.size(0), T = x.size(1), H = hidden_size_, D = bidirectional_ ? 2 : 1;
  check(B >= 1 && T >= 1, "LSTM: input {} has an empty batch or sequence dim", x.shape());
  const bool has_lengths = !(lengths.numel() == 0 && lengths.dim() == 1);
  if (has_lengths) {
    check(lengths.shape() == Shape{B}, "LSTM: lengths {} does not match the batch of input {} (expected ({}))",
          lengths.shape(), x.shape(), B);
    for (int64_t b = 0; b < B; ++b)
      check(lengths.data()[b] >= 1 && lengths.data()[b] <= T,
            "LSTM: lengths[{}] = {} is out of [1, {}] (input {})", b, lengths.data()[b], T, x.shape());
  }
  const Shape state_shape{num_layers_ * D, B, H};
  check(!h0.defined() || h0.shape() == state_shape, "LSTM: h0 {} does not match (num_layers * D, B, H) = {}",
        h0.defined() ? h0.shape() : Shape{}, state_shape);
  check(!c0.defined() || c0.shape() == state_shape, "LSTM: c0 {} does not match (num_layers * D, B, H) = {}",
        c0.defined() ? c0.shape() : Shape{}, state_shape);

  Tensor layer_input = x;
  std::vector<Tensor> h_n, c_n;
  for (int64_t k = 0; k < num_layers_; ++k) {
    std::vector<Tensor> halves;
    auto collect = [&](const LSTMLayerOutput& r) {
      halves.push_back(r.output);
      h_n.push_back(r.h_n);
      c_n.push_back(r.c_n);
    };
    const int64_t first = k * D, states = num_layers_ * D;
    if (D == 1) {
      const LSTMWeights& w = weights[first];
      collect(lstm_layer(layer_input, lengths, state_at(h0, first, states), state_at(c0, first, states), w.weight_ih,
                         w.weight_hh, w.bias_ih, w.bias_hh));
    } else {  // both directions at once, one per thread
      BidirectionalLSTMOutput r =
          lstm_bidirectional_layer(layer_input, lengths, state_at(h0, first, states), state_at(c0, first, states),
                                   state_at(h0, first + 1, states), state_at(c0, first + 1, states), weights[first],
                                   weights[first + 1]);
      collect(r.forward);
      collect(r.reverse);
    }
    layer_input = D == 1 ? halves[0] : concat(halves, 2);
    if (k + 1 < num_layers_) layer_input = ag::dropout(layer_input, dropout_, is_training(), *gen_);
  }
  return {layer_input, stack_states(h_n), stack_states(c_n)};
}

LSTMCell::LSTMCell(int64_t input_size, int64_t hidden_size, bool bias)
    : input_size_(input_size), hidden_size_(hidden_size) {
  check(input_size > 0 && hidden_size > 0, "LSTMCell: input_size and hidden_size must be positive, got {}, {}",
        input_size, hidden_size);
  LSTMWeights w = make_weights(*this, "", input_size, hidden_size, bias);
  weight_ih = w.weight_ih;
  weight_hh = w.weight_hh;
  bias_ih = w.bias_ih;
  bias_hh = w.bias_hh;
}

// One step of the fused sequence kernel (T = 1): (h', c') are its final states.
std::pair<Tensor, Tensor> LSTMCell::forward(const Tensor& x, const Tensor& h, const Tensor& c) {
  check(x.defined(), "LSTMCell: the input is undefined");
  check(x.dim() == 2 && x.size(1) == input_size_, "LSTMCell: input {} does not match input_size {} (expected (B, {}))",
        x.shape(), input_size_, input_size_);
  const int64_t B = x.size(0);
  check(B >= 1, "LSTMCell: input {} has an empty batch", x.shape());
  const Shape state_shape{B, hidden_size_};
  check(!h.defined() || h.shape() == state_shape, "LSTMCell: h {} does not match (B, H) = {}",
        h.defined() ? h.shape() : Shape{}, state_shape);
  check(!c.defined() || c.shape() == state_shape, "LSTMCell: c {} does not match (B, H) = {}",
        c.defined() ? c.shape() : Shape{}, state_shape);
  LSTMLayerOutput r = lstm_layer(x.reshape({B, 1, input_size_}), {}, h, c, weight_ih, weight_hh, bias_ih, bias_hh);
  return {r.h_n, r.c_n};
}

}  // namespace ag::nn
