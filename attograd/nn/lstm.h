#pragma once
// LSTM (stacked, optionally bidirectional, batch-first, with per-sequence lengths) and LSTMCell, with
// torch.nn.LSTM's and torch.nn.LSTMCell's parameter names, shapes and gate order (i, f, g, o).

#include <utility>
#include <vector>

#include "attograd/core/ops/lstm.h"
#include "attograd/core/random.h"
#include "attograd/nn/module.h"

namespace ag::nn {

/// What LSTM::forward returns (torch's output, (h_n, c_n)).
struct LSTMOutput {
  Tensor output;  // (B, T, D * H): forward then reverse halves on the last dim; 0 at pad positions
  Tensor h_n;     // (num_layers * D, B, H): index layer * D + direction, as torch
  Tensor c_n;     // (num_layers * D, B, H)
};

/// One layer-direction's parameters: torch's weight_ih_l{k}[_reverse] (4H, in), weight_hh_l{k}[_reverse]
/// (4H, H), bias_ih_l{k}[_reverse] and bias_hh_l{k}[_reverse] (4H); the struct lstm_layer takes.
using ag::LSTMWeights;

class LSTM : public Module {
 public:
  /// torch.nn.LSTM(input_size, hidden_size, num_layers, bias=True, batch_first=True, dropout,
  /// bidirectional). Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)) from the default generator; dropout
  /// masks (train mode, between layers) come from `gen` (default generator unless given).
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bidirectional = false,
       float dropout = 0.0f, Generator* gen = nullptr);
  std::string type_name() const override { return "LSTM"; }

  /// x (B, T, input_size); lengths (B) in [1, T] for right-padded batches (shape (0): all T; as
  /// torch's pack_padded_sequence(enforce_sorted=False) then pad_packed_sequence(total_length=T));
  /// h0, c0 (num_layers * D, B, H) or undefined (zeros). Returns output (B, T, D * H), h_n, c_n.
  LSTMOutput forward(const Tensor& x, const IntTensor& lengths = {}, const Tensor& h0 = {}, const Tensor& c0 = {});
  LSTMOutput operator()(const Tensor& x, const IntTensor& lengths = {}, const Tensor& h0 = {}, const Tensor& c0 = {}) {
    return forward(x, lengths, h0, c0);
  }

  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  int64_t num_layers() const { return num_layers_; }
  bool bidirectional() const { return bidirectional_; }
  float dropout() const { return dropout_; }

  /// Parameters of layer k, direction d (0 forward, 1 reverse) at weights[k * D + d].
  std::vector<LSTMWeights> weights;

 private:
  int64_t input_size_, hidden_size_, num_layers_;
  bool bidirectional_;
  float dropout_;
  Generator* gen_;
};

class LSTMCell : public Module {
 public:
  /// torch.nn.LSTMCell: weight_ih (4H, I), weight_hh (4H, H), bias_ih, bias_hh (4H, absent without
  /// bias), all ~ U(-1/sqrt(H), 1/sqrt(H)) from the default generator.
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  std::string type_name() const override { return "LSTMCell"; }

  /// One step: x (B, I), h and c (B, H) or undefined (zeros) -> (h', c') (torch: cell(x, (h, c))).
  std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& h = {}, const Tensor& c = {});
  std::pair<Tensor, Tensor> operator()(const Tensor& x, const Tensor& h = {}, const Tensor& c = {}) {
    return forward(x, h, c);
  }

  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }

  Tensor weight_ih, weight_hh;  // (4H, I), (4H, H)
  Tensor bias_ih, bias_hh;      // (4H), undefined without bias

 private:
  int64_t input_size_, hidden_size_;
};

}  // namespace ag::nn
