#pragma once
// Fused attention kernels, each one forward/backward pair: multi-head scaled dot-product attention
// over heads packed in the last dim (and scaled_dot_product_attention, its one-head form), attention
// pooling (one learned query per position) and Bahdanau's additive scores.
//
// Masks are IntTensors and NONZERO MEANS MASKED OUT (not attended), as torch 1.13's boolean masks.
// A row whose every position is masked gets zero weights and a zero output, with zero gradients
// (torch 1.13 gives NaN there; see attograd/core/ops/softmax.cpp).

#include <cstdint>
#include <vector>

#include "attograd/core/tensor.h"

namespace ag {

class Generator;

/// What an attention op returns: its output and the attention weights it used.
struct AttentionResult {
  Tensor output;
  Tensor weights;
};

/// Scaled dot-product attention for H heads packed in the last dim: q (..., Tq, H*d),
/// k (..., Tk, H*d), v (..., Tk, H*dv); head h reads columns h*d .. h*d+d-1 of q and k (h*dv.. of v)
/// and writes columns h*dv .. of the output (..., Tq, H*dv), so no transposes are needed around it.
/// weights (..., H, Tq, Tk) = dropout(softmax(q_h k_h^T * scale with masked scores at -inf)), the
/// weights the output was computed with (after dropout, as torch 1.13 returns them). Each mask is
/// broadcastable to (..., H, Tq, Tk); a position is masked when any mask is nonzero there. Dropout
/// (training and dropout_p > 0) draws from `gen`, element i of weights from position base + i as
/// ag::dropout does. torch 1.13's F._scaled_dot_product_attention on (B*H, T, d) tensors.
AttentionResult multi_head_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t num_heads, float scale,
                                     const std::vector<IntTensor>& masks = {}, float dropout_p = 0.0f,
                                     bool training = false, Generator* gen = nullptr);

/// softmax(q k^T / sqrt(d), masked positions excluded) v for q (..., Tq, d), k (..., Tk, d),
/// v (..., Tk, dv) with the same leading dims, mask broadcastable to (..., Tq, Tk) (nonzero = masked;
/// empty = none) -> output (..., Tq, dv), weights (..., Tq, Tk). Dropout on the weights when training
/// and dropout_p > 0, drawn from gen (default_generator() when null); the weights returned are those
/// the output used, after dropout. torch 1.13's F._scaled_dot_product_attention (torch 2's
/// F.scaled_dot_product_attention with attn_mask = ~mask).
AttentionResult scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const IntTensor& mask = {}, float dropout_p = 0.0f, bool training = false,
                                             Generator* gen = nullptr);

/// Attention pooling (the Keras IMDB attention layer): x (B, T, D), weight (D, 1), bias (L, 1) with
/// L >= T (rows T.. unused, their gradient 0), mask (B, T) nonzero = padding (optional).
/// e_t = tanh(x_t . w + b_t), alpha = softmax_t(e) over the unmasked t, output = sum_t alpha_t x_t
/// -> output (B, D), weights alpha (B, T). No torch twin.
AttentionResult attention_pooling(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const IntTensor& mask = {});

/// Bahdanau's additive scores: score[b, i, j] = sum_h v[h] tanh(qp[b, i, h] + kp[b, j, h]) for
/// qp (B, Tq, H), kp (B, Tk, H), v (H) -> (B, Tq, Tk). The (B, Tq, Tk, H) tanh is recomputed in
/// backward instead of stored. No torch twin.
Tensor additive_attention_scores(const Tensor& query_proj, const Tensor& key_proj, const Tensor& v);

}  // namespace ag
