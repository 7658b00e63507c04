#include "attograd/nn/attention.h"

#include <cmath>
#include <limits>

#include "attograd/core/error.h"
#include "attograd/core/ops/index.h"
#include "attograd/core/ops/matmul.h"
#include "attograd/core/ops/shape_ops.h"
#include "attograd/core/ops/softmax.h"
#include "attograd/nn/init.h"

namespace ag::nn {


AdditiveAttention::AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t hidden_dim) {
  check(query_dim > 0 && key_dim > 0 && hidden_dim > 0,
        "AdditiveAttention: sizes must be positive, got query_dim {} key_dim {} hidden_dim {}", query_dim, key_dim,
        hidden_dim);
  query_proj = register_module("query_proj", std::make_shared<Linear>(query_dim, hidden_dim, false));
  key_proj = register_module("key_proj", std::make_shared<Linear>(key_dim, hidden_dim, true));
  v = register_module("v", std::make_shared<Linear>(hidden_dim, 1, false));
}

Tensor AdditiveAttention::project_keys(const Tensor& keys) const {
  check(keys.defined() && keys.dim() == 3 && keys.size(2) == key_proj->weight.size(1),
        "AdditiveAttention: keys {} must be (B, Tk, key_dim = {})", keys.defined() ? keys.shape() : Shape{},
        key_proj->weight.size(1));
  return linear(keys, key_proj->weight, key_proj->bias);
}

AttentionResult AdditiveAttention::forward(const Tensor& query, const Tensor& keys, const Tensor& values,
                                           const IntTensor& key_padding_mask) const {
  return attend(query, project_keys(keys), values.defined() ? values : keys, key_padding_mask);
}

// scores (B, Tq, Tk) = v^T tanh(W_q q_i + k'_j) (one fused op), padding -> -inf, softmax over j,
// context = weights @ values. A 2-D query is one step: Tq = 1, squeezed away at the end.
AttentionResult AdditiveAttention::attend(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                                          const IntTensor& key_padding_mask) const {
  const int64_t hidden = query_proj->weight.size(0), query_dim = query_proj->weight.size(1);
  check(query.defined() && (query.dim() == 2 || query.dim() == 3) && query.size(-1) == query_dim,
        "AdditiveAttention: query {} must be (B, query_dim = {}) or (B, Tq, query_dim)",
        query.defined() ? query.shape() : Shape{}, query_dim);
  const int64_t B = query.size(0);
  check(projected_keys.defined() && projected_keys.dim() == 3 && projected_keys.size(0) == B &&
            projected_keys.size(2) == hidden,
        "AdditiveAttention: projected keys {} must be (B = {}, Tk, hidden = {})",
        projected_keys.defined() ? projected_keys.shape() : Shape{}, B, hidden);
  const int64_t tk = projected_keys.size(1);
  check(values.defined() && values.dim() == 3 && values.size(0) == B && values.size(1) == tk,
        "AdditiveAttention: values {} must be (B = {}, Tk = {}, Dv)", values.defined() ? values.shape() : Shape{}, B,
        tk);
  const bool masked = key_padding_mask.numel() > 0;
  check(!masked || key_padding_mask.shape() == Shape{B, tk},
        "AdditiveAttention: key_padding_mask {} must be (B, Tk) = ({}, {})", key_padding_mask.shape(), B, tk);

  const bool one_step = query.dim() == 2;
  const Tensor q = one_step ? unsqueeze(query, 1) : query;
  Tensor scores = additive_attention_scores(linear(q, query_proj->weight), projected_keys, v->weight);
  if (masked)
    scores = masked_fill(scores, key_padding_mask.reshape({B, 1, tk}), -std::numeric_limits<float>::infinity());
  Tensor weights = softmax(scores, -1);
  Tensor context = matmul(weights, values);
  if (one_step) return {squeeze(context, 1), squeeze(weights, 1)};
  return {context, weights};
}

AttentionPooling::AttentionPooling(int64_t features, int64_t max_len) : features_(features), max_len_(max_len) {
  check(features > 0 && max_len > 0, "AttentionPooling: sizes must be positive, got features {} max_len {}", features,
        max_len);
  weight = register_parameter("weight", empty({features, 1}));
  init::normal_(weight, 0.0f, 0.05f);
  bias = register_parameter("bias", zeros({max_len, 1}));
}

AttentionResult AttentionPooling::forward(const Tensor& x, const IntTensor& mask) const {
  check(x.defined() && x.dim() == 3 && x.size(2) == features_, "AttentionPooling: x {} must be (B, T, features = {})",
        x.defined() ? x.shape() : Shape{}, features_);
  check(x.size(1) <= max_len_, "AttentionPooling: sequence length {} of x {} exceeds max_len {}", x.size(1), x.shape(),
        max_len_);
  check(mask.numel() == 0 || mask.shape() == Shape{x.size(0), x.size(1)},
        "AttentionPooling: mask {} must be (B, T) = ({}, {})", mask.shape(), x.size(0), x.size(1));
  return attention_pooling(x, weight, bias, mask);
}

}  // namespace ag::nn
