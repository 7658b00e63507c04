#pragma once
// MultiheadAttention (torch.nn.MultiheadAttention with batch_first = True): the names, shapes, init
// and mask rules of torch 1.13.
//
// Masks are ag::IntTensor and NONZERO MEANS MASKED OUT (not attended), as torch's boolean masks
// (True = masked): key_padding_mask (B, Tk) marks padded keys, attn_mask (Tq, Tk) or
// (B * num_heads, Tq, Tk) marks pairs a query may not see. A query whose every key is masked gets
// zero weights and a zero attention output (then out_proj's bias), with finite gradients; torch 1.13
// gives NaN there.

#include <array>
#include <memory>
#include <utility>

#include "attograd/core/ops/attention.h"
#include "attograd/core/random.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/module.h"

namespace ag::nn {

class MultiheadAttention : public Module {
 public:
  /// Parameters in torch's order: in_proj_weight (3E, E) xavier_uniform, in_proj_bias (3E) zeros,
  /// out_proj.weight (E, E) Linear's init, out_proj.bias (E) zeros (no biases when !bias). Dropout on
  /// the attention weights in training mode draws from gen (default_generator() when null).
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, float dropout = 0.0f, bool bias = true,
                     Generator* gen = nullptr);
  std::string type_name() const override { return "MultiheadAttention"; }

  /// query (B, Tq, E), key (B, Tk, E), value (B, Tk, E), key_padding_mask (B, Tk), attn_mask (Tq, Tk)
  /// or (B * num_heads, Tq, Tk) (empty = none) -> output (B, Tq, E), weights (B, Tq, Tk) averaged over
  /// heads, (B, num_heads, Tq, Tk) when !average_attn_weights, undefined when !need_weights.
  /// Self-attention (query, key and value the same tensor) projects with one (B*T, 3E) GEMM.
  AttentionResult forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const IntTensor& key_padding_mask = {}, const IntTensor& attn_mask = {},
                          bool need_weights = true, bool average_attn_weights = true) const;
  AttentionResult operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                             const IntTensor& key_padding_mask = {}, const IntTensor& attn_mask = {},
                             bool need_weights = true, bool average_attn_weights = true) const {
    return forward(query, key, value, key_padding_mask, attn_mask, need_weights, average_attn_weights);
  }

  // The pieces of forward(), for incremental decoding: project the memory's keys and values once,
  // append each new step's self-attention k and v to a cache (ag::concat along dim 1), and attend.
  // Projected tensors keep the heads packed in the last dim: head h is columns h*head_dim ...

  /// query (B, Tq, E) -> q = query W_q^T + b_q (B, Tq, E) (in_proj_weight rows 0 .. E-1, not copied).
  Tensor project_query(const Tensor& query) const;
  /// key (B, Tk, E), value (B, Tk, E) -> {k, v} (B, Tk, E) each (rows E .. 3E-1); one GEMM when key is value.
  std::pair<Tensor, Tensor> project_key_value(const Tensor& key, const Tensor& value) const;
  /// x (B, T, E) -> {q, k, v} (B, T, E) each, from one fused (B*T, 3E) projection.
  std::array<Tensor, 3> project_self(const Tensor& x) const;
  /// Attention of projected q (B, Tq, E) over projected k, v (B, Tk, E), then out_proj; masks and
  /// weights as in forward().
  AttentionResult attend(const Tensor& q, const Tensor& k, const Tensor& v, const IntTensor& key_padding_mask = {},
                         const IntTensor& attn_mask = {}, bool need_weights = true,
                         bool average_attn_weights = true) const;

  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }
  int64_t head_dim() const { return embed_dim_ / num_heads_; }
  float dropout() const { return dropout_; }

  Tensor in_proj_weight;  // (3E, E): W_q, W_k, W_v stacked
  Tensor in_proj_bias;    // (3E), undefined without bias
  std::shared_ptr<Linear> out_proj;

 private:
  int64_t embed_dim_, num_heads_;
  float dropout_;
  Generator* gen_;
};

}  // namespace ag::nn
