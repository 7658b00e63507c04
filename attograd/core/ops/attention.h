#pragma once
// Fused attention kernels, each one forward/backward pair: multi-head scaled dot-product attention
// over heads packed in the last dim, attention pooling (one learned query per position), Bahdanau's
// additive scores, and a linear map through a block of a weight's rows (in_proj_weight's q, k, v).
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

/// x (..., in) @ weight[begin : begin+count]^T + bias[begin : begin+count] -> (..., count), reading the
/// rows in place (no copy); weight (out, in), bias (out) or undefined. The weight and bias gradients
/// are full-size, zero outside the rows (F.linear(x, w[begin:begin+count], b[begin:begin+count])).
Tensor linear_rows(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t begin, int64_t count);

}  // namespace ag
