#pragma once
// lstm_layer: one LSTM layer, one direction, over a whole batch-first sequence, as one fused
// forward/backward kernel pair (torch's gate order i, f, g, o). nn::LSTM stacks these.

#include "attograd/core/tensor.h"

namespace ag {

/// One layer-direction's weights, with torch.nn.LSTM's names (weight_ih_l{k}[_reverse]...):
/// weight_ih (4H, I), weight_hh (4H, H), bias_ih and bias_hh (4H, either may be undefined = 0).
struct LSTMWeights {
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

/// What lstm_layer returns (one autograd node, three outputs).
struct LSTMLayerOutput {
  Tensor output;  // (B, T, H): h at every step, exactly 0 at pad positions t >= lengths[b]
  Tensor h_n;     // (B, H): h after each sequence's last real step (reverse: after t = 0)
  Tensor c_n;     // (B, H): c likewise
};

/// One LSTM layer over x (B, T, I) with weights weight_ih (4H, I), weight_hh (4H, H) and biases
/// bias_ih, bias_hh (4H) (either may be undefined = 0). h0, c0 (B, H) may be undefined (= zeros). lengths (B), values in
/// [1, T], right-padded batches: sequence b runs only its first lengths[b] steps; shape (0) means all
/// T. reverse runs each sequence from its own last token down to t = 0. Per step:
///   i, f, o = sigmoid(x W_i^T + b + h W_h^T),  g = tanh(...),  c' = f c + i g,  h' = o tanh(c').
/// Equals one direction of torch.nn.LSTM(batch_first=True) on a pack_padded_sequence(enforce_sorted=False).
LSTMLayerOutput lstm_layer(const Tensor& x, const IntTensor& lengths, const Tensor& h0, const Tensor& c0,
                           const Tensor& weight_ih, const Tensor& weight_hh, const Tensor& bias_ih,
                           const Tensor& bias_hh, bool reverse = false);


/// What lstm_bidirectional_layer returns (one autograd node, six outputs).
struct BidirectionalLSTMOutput {
  LSTMLayerOutput forward;  // lstm_layer(..., reverse = false)
  LSTMLayerOutput reverse;  // lstm_layer(..., reverse = true)
};

/// Both directions of a bidirectional layer over the same x and lengths, equal to two lstm_layer
/// calls, but computed as one node whose forward and backward run the two directions at once, one
/// per thread (with 2 or more threads): one synchronisation per layer instead of one per step.
BidirectionalLSTMOutput lstm_bidirectional_layer(const Tensor& x, const IntTensor& lengths, const Tensor& h0_forward,
                                                 const Tensor& c0_forward, const Tensor& h0_reverse,
                                                 const Tensor& c0_reverse, const LSTMWeights& forward,
                                                 const LSTMWeights& reverse);

}  // namespace ag
