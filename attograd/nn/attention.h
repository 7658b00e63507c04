#pragma once
// Attention layers: Bahdanau's additive attention and the attention pooling layer of the classic
// Keras IMDB model. The scaled dot-product attention function is a core op
// (attograd/core/ops/attention.h, included here). Multi-head attention is in
// attograd/nn/multihead_attention.h, the Transformer in attograd/nn/transformer.h.
//
// Masks are ag::IntTensor and NONZERO MEANS MASKED OUT (not attended), as torch 1.13's boolean
// key_padding_mask and attn_mask (True = masked). A row whose every position is masked gets zero
// attention weights and a zero output, with finite (zero) gradients; torch 1.13 gives NaN there.
// Every layer hands back its attention weights (AttentionResult::weights) so they can be shown.

#include <memory>

#include "attograd/core/ops/attention.h"
#include "attograd/core/random.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/module.h"

namespace ag::nn {


/// Bahdanau's additive attention (no torch twin): score(q, k_t) = v^T tanh(W_q q + W_k k_t + b_k),
/// weights = softmax over t (padding excluded), context = sum_t weights_t values_t. Parameters, with
/// Linear's init: query_proj.weight (hidden, query_dim), key_proj.weight (hidden, key_dim),
/// key_proj.bias (hidden), v.weight (1, hidden).
class AdditiveAttention : public Module {
 public:
  AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t hidden_dim);
  std::string type_name() const override { return "AdditiveAttention"; }

  /// query (B, Dq) or (B, Tq, Dq), keys (B, Tk, Dk), values (B, Tk, Dv) (undefined: the keys),
  /// key_padding_mask (B, Tk) nonzero = pad -> context (B, [Tq,] Dv), weights (B, [Tq,] Tk).
  AttentionResult forward(const Tensor& query, const Tensor& keys, const Tensor& values = {},
                          const IntTensor& key_padding_mask = {}) const;
  AttentionResult operator()(const Tensor& query, const Tensor& keys, const Tensor& values = {},
                             const IntTensor& key_padding_mask = {}) const {
    return forward(query, keys, values, key_padding_mask);
  }

  /// keys (B, Tk, Dk) -> W_k keys + b_k (B, Tk, hidden). A decoder attends to the same keys at every
  /// step: project them once per batch with this, then call attend() at each step.
  Tensor project_keys(const Tensor& keys) const;
  /// forward() with keys already projected by project_keys(); values (B, Tk, Dv) are required.
  AttentionResult attend(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                         const IntTensor& key_padding_mask = {}) const;

  std::shared_ptr<Linear> query_proj;  // Linear(query_dim, hidden, bias = false)
  std::shared_ptr<Linear> key_proj;    // Linear(key_dim, hidden)
  std::shared_ptr<Linear> v;           // Linear(hidden, 1, bias = false)
};

/// The attention layer of the classic Keras IMDB model (no torch twin): e_t = tanh(x_t . w + b_t)
/// with one learned bias per position, alpha = softmax over t (padding excluded), output =
/// sum_t alpha_t x_t. Parameters: weight (features, 1) ~ N(0, 0.05) from default_generator(), bias
/// (max_len, 1) zeros. One fused kernel pair (ag::attention_pooling).
class AttentionPooling : public Module {
 public:
  AttentionPooling(int64_t features, int64_t max_len);
  std::string type_name() const override { return "AttentionPooling"; }

  /// x (B, T, features) with T <= max_len (the first T bias rows are used), mask (B, T) nonzero = pad
  /// (optional) -> output (B, features), weights (B, T).
  AttentionResult forward(const Tensor& x, const IntTensor& mask = {}) const;
  AttentionResult operator()(const Tensor& x, const IntTensor& mask = {}) const { return forward(x, mask); }

  int64_t features() const { return features_; }
  int64_t max_len() const { return max_len_; }

  Tensor weight;  // (features, 1)
  Tensor bias;    // (max_len, 1)

 private:
  int64_t features_, max_len_;
};

}  // namespace ag::nn
