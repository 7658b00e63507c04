#pragma once
// Position information for attention models, added to token embeddings: the fixed sinusoids of
// "Attention is all you need" and a learned table (GPT-style). Both map x (B, T, D) to x + pe[:T].

#include "attograd/nn/module.h"

namespace ag::nn {

/// pe[pos, 2i] = sin(pos / 10000^(2i / d_model)), pe[pos, 2i+1] = cos(pos / 10000^(2i / d_model)).
/// No parameters, and not in the state dict (torch tutorials' register_buffer(persistent=False)):
/// the table is a function of (max_len, d_model). Scaling the embeddings by sqrt(d_model) first, and
/// dropout after, are the caller's.
class SinusoidalPositionalEncoding : public UnaryModule {
 public:
  SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len = 5000);
  std::string type_name() const override { return "SinusoidalPositionalEncoding"; }
  /// x (B, T, d_model) with T <= max_len -> x + pe[:T].
  Tensor forward(const Tensor& x) override;
  /// The whole table (max_len, d_model), for plotting.
  const Tensor& table() const { return pe_; }

 private:
  int64_t d_model_, max_len_;
  Tensor pe_;
};

/// A learned position table: parameter `weight` (max_len, d_model) ~ N(0, 0.02) from
/// default_generator() (GPT-2's init); forward adds its first T rows.
class LearnedPositionalEncoding : public UnaryModule {
 public:
  LearnedPositionalEncoding(int64_t max_len, int64_t d_model);
  std::string type_name() const override { return "LearnedPositionalEncoding"; }
  /// x (B, T, d_model) with T <= max_len -> x + weight[:T].
  Tensor forward(const Tensor& x) override;

  Tensor weight;  // (max_len, d_model)

 private:
  int64_t max_len_, d_model_;
};

}  // namespace ag::nn
