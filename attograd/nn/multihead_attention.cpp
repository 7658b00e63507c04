#include "attograd/nn/multihead_attention.h"

#include <cmath>

#include "attograd/core/error.h"
#include "attograd/core/ops/matmul.h"
#include "attograd/core/ops/reduce.h"
#include "attograd/core/ops/shape_ops.h"
#include "attograd/nn/init.h"

namespace ag::nn {

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, float dropout, bool bias, Generator* gen)
    : embed_dim_(embed_dim), num_heads_(num_heads), dropout_(dropout), gen_(gen ? gen : &default_generator()) {
  check(embed_dim > 0 && num_heads > 0, "MultiheadAttention: embed_dim {} and num_heads {} must be positive", embed_dim,
        num_heads);
  check(embed_dim % num_heads == 0, "MultiheadAttention: embed_dim {} is not divisible by num_heads {}", embed_dim,
        num_heads);
  check(dropout >= 0.0f && dropout <= 1.0f, "MultiheadAttention: dropout {} is not in [0, 1]", dropout);
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * embed_dim, embed_dim}));
  init::xavier_uniform_(in_proj_weight);
  if (bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, bias));
  if (bias) init::zeros_(out_proj->bias);
}

Tensor MultiheadAttention::project_query(const Tensor& query) const {
  check(query.defined() && query.dim() == 3 && query.size(2) == embed_dim_,
        "MultiheadAttention: query {} must be (B, Tq, embed_dim = {})", shape_of(query), embed_dim_);
  return linear_rows(query, in_proj_weight, in_proj_bias, 0, embed_dim_);
}

std::pair<Tensor, Tensor> MultiheadAttention::project_key_value(const Tensor& key, const Tensor& value) const {
  const int64_t E = embed_dim_;
  check(key.defined() && value.defined() && key.dim() == 3 && value.dim() == 3 && key.size(2) == E &&
            value.size(2) == E && key.size(0) == value.size(0) && key.size(1) == value.size(1),
        "MultiheadAttention: key {} and value {} must both be (B, Tk, embed_dim = {})", shape_of(key), shape_of(value),
        E);
  if (key.is_same(value)) {
    std::vector<Tensor> kv = split(linear_rows(key, in_proj_weight, in_proj_bias, E, 2 * E), E, -1);
    return {kv[0], kv[1]};
  }
  return {linear_rows(key, in_proj_weight, in_proj_bias, E, E),
          linear_rows(value, in_proj_weight, in_proj_bias, 2 * E, E)};
}

std::array<Tensor, 3> MultiheadAttention::project_self(const Tensor& x) const {
  check(x.defined() && x.dim() == 3 && x.size(2) == embed_dim_,
        "MultiheadAttention: input {} must be (B, T, embed_dim = {})", shape_of(x), embed_dim_);
  std::vector<Tensor> qkv = split(linear(x, in_proj_weight, in_proj_bias), embed_dim_, -1);
  return {qkv[0], qkv[1], qkv[2]};
}

// Heads stay packed in the last dim all the way: the fused kernel reads head h from columns
// h*head_dim.. of q, k, v and writes the same columns of its output, which goes straight into out_proj.
AttentionResult MultiheadAttention::attend(const Tensor& q, const Tensor& k, const Tensor& v,
                                           const IntTensor& key_padding_mask, const IntTensor& attn_mask,
                                           bool need_weights, bool average_attn_weights) const {
  const int64_t E = embed_dim_, H = num_heads_;
  check(q.defined() && k.defined() && v.defined() && q.dim() == 3 && k.dim() == 3 && v.dim() == 3 && q.size(2) == E &&
            k.size(2) == E && v.size(2) == E && k.size(0) == q.size(0) && v.size(0) == q.size(0) &&
            v.size(1) == k.size(1),
        "MultiheadAttention: projected q {}, k {} and v {} must be (B, Tq, {}), (B, Tk, {}) and (B, Tk, {})",
        shape_of(q), shape_of(k), shape_of(v), E, E, E);
  const int64_t B = q.size(0), tq = q.size(1), tk = k.size(1);
  std::vector<IntTensor> masks;
  if (key_padding_mask.numel() > 0) {
    check(key_padding_mask.shape() == Shape{B, tk},
          "MultiheadAttention: key_padding_mask {} must be (B, Tk) = ({}, {})", key_padding_mask.shape(), B, tk);
    masks.push_back(key_padding_mask.reshape({B, 1, 1, tk}));
  }
  if (attn_mask.numel() > 0) {  // (Tq, Tk) for every batch and head, or (B * H, Tq, Tk) as torch lays it out
    const bool shared = attn_mask.shape() == Shape{tq, tk}, per_head = attn_mask.shape() == Shape{B * H, tq, tk};
    check(shared || per_head,
          "MultiheadAttention: attn_mask {} must be (Tq, Tk) = ({}, {}) or (B * num_heads, Tq, Tk) = ({}, {}, {})",
          attn_mask.shape(), tq, tk, B * H, tq, tk);
    masks.push_back(shared ? attn_mask : attn_mask.reshape({B, H, tq, tk}));
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(E / H));
  AttentionResult a = multi_head_attention(q, k, v, H, scale, masks, dropout_, is_training(), gen_);
  Tensor output = linear(a.output, out_proj->weight, out_proj->bias);
  if (!need_weights) return {output, Tensor()};
  return {output, average_attn_weights ? mean(a.weights, {1}) : a.weights};
}

AttentionResult MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                            const IntTensor& key_padding_mask, const IntTensor& attn_mask,
                                            bool need_weights, bool average_attn_weights) const {
  const int64_t E = embed_dim_;
  check(query.defined() && key.defined() && value.defined() && query.dim() == 3 && key.dim() == 3 && value.dim() == 3,
        "MultiheadAttention: query {}, key {} and value {} must be (B, T, E) (batch_first)", shape_of(query),
        shape_of(key), shape_of(value));
  check(query.size(2) == E && key.size(2) == E && value.size(2) == E,
        "MultiheadAttention: query {}, key {} and value {} must have embed_dim = {} features", query.shape(),
        key.shape(), value.shape(), E);
  check(key.size(0) == query.size(0) && value.size(0) == query.size(0),
        "MultiheadAttention: batch sizes of query {}, key {} and value {} differ", query.shape(), key.shape(),
        value.shape());
  check(key.size(1) == value.size(1), "MultiheadAttention: key {} and value {} have different lengths", key.shape(),
        value.shape());
  if (query.is_same(key) && key.is_same(value)) {
    const auto [q, k, v] = project_self(query);
    return attend(q, k, v, key_padding_mask, attn_mask, need_weights, average_attn_weights);
  }
  const auto [k, v] = project_key_value(key, value);
  return attend(project_query(query), k, v, key_padding_mask, attn_mask, need_weights, average_attn_weights);
}

}  // namespace ag::nn
