#include "attograd/nn/embedding.h"

#include <algorithm>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/ops/index.h"
#include "attograd/nn/init.h"

namespace ag::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, int64_t padding_idx) : padding_idx_(padding_idx) {
  check(num_embeddings > 0 && embedding_dim > 0, "Embedding: sizes must be positive, got ({}, {})", num_embeddings,
        embedding_dim);
  check(padding_idx < num_embeddings, "Embedding: padding_idx {} is out of range for {} embeddings", padding_idx,
        num_embeddings);
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  init::normal_(weight, 0.0f, 1.0f);
  if (padding_idx >= 0) {
    NoGradGuard no_grad;
    std::fill_n(weight.mutable_data() + padding_idx * embedding_dim, embedding_dim, 0.0f);
  }
}

Tensor Embedding::forward(const IntTensor& ids) const { return embedding(ids, weight, padding_idx_); }

}  // namespace ag::nn
