#pragma once
// Embedding: a lookup table of vectors, one row per token id (torch.nn.Embedding).

#include "attograd/nn/module.h"

namespace ag::nn {

class Embedding : public Module {
 public:
  /// weight ~ N(0, 1) as torch; the padding_idx row (if >= 0) starts at zero and gets no gradient.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, int64_t padding_idx = -1);
  std::string type_name() const override { return "Embedding"; }
  /// ids (...) -> (..., embedding_dim).
  Tensor forward(const IntTensor& ids) const;
  Tensor operator()(const IntTensor& ids) const { return forward(ids); }

  int64_t padding_idx() const { return padding_idx_; }
  Tensor weight;  // (num_embeddings, embedding_dim)

 private:
  int64_t padding_idx_;
};

}  // namespace ag::nn
