#pragma once
// The Transformer of "Attention is all you need" with torch 1.13's semantics and names, batch_first:
// TransformerEncoderLayer, TransformerDecoderLayer, their stacks, and Transformer (torch.nn.*).
// Post-norm by default (x = norm(x + sublayer(x))), pre-norm with norm_first (x = x + sublayer(norm(x))).
//
// Masks are ag::IntTensor and NONZERO MEANS MASKED OUT (not attended), as torch's boolean masks:
// *_key_padding_mask (B, T) marks padding, src_mask / tgt_mask / memory_mask (Tq, Tk) or
// (B * nhead, Tq, Tk) mark pairs a position may not see (generate_square_subsequent_mask for a
// causal decoder). A fully masked query row attends to nothing (zero attention output) instead of
// giving NaN as torch 1.13 does.

#include <memory>
#include <string>
#include <vector>

#include "attograd/core/random.h"
#include "attograd/nn/dropout.h"
#include "attograd/nn/layer_norm.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/module.h"
#include "attograd/nn/multihead_attention.h"

namespace ag::nn {

/// (T, T) with 1 above the diagonal: position i may not attend to j > i (torch's
/// Transformer.generate_square_subsequent_mask, whose -inf entries are the 1s here).
IntTensor generate_square_subsequent_mask(int64_t T);

/// The arguments of one Transformer layer (torch's TransformerEncoderLayer / DecoderLayer).
struct TransformerLayerConfig {
  int64_t d_model = 512;
  int64_t nhead = 8;
  int64_t dim_feedforward = 2048;
  float dropout = 0.1f;
  std::string activation = "relu";  // "relu" or "gelu"
  float layer_norm_eps = 1e-5f;
  bool norm_first = false;
  Generator* gen = nullptr;  // dropout masks; default_generator() when null
};

/// A layer's or a stack's output with the attention weights of each layer, (B, Tq, Tk) averaged
/// over heads, for showing them.
struct TransformerResult {
  Tensor output;
  std::vector<Tensor> self_attn_weights;   // one per layer
  std::vector<Tensor> cross_attn_weights;  // one per decoder layer (attention over the memory)
};

/// self-attention and a feed-forward block (torch.nn.TransformerEncoderLayer, batch_first = True).
/// Children: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward = 2048, float dropout = 0.1f,
                          const std::string& activation = "relu", float layer_norm_eps = 1e-5f, bool norm_first = false,
                          Generator* gen = nullptr);
  explicit TransformerEncoderLayer(const TransformerLayerConfig& config);
  std::string type_name() const override { return "TransformerEncoderLayer"; }

  /// src (B, T, d_model), src_mask (T, T) or (B*nhead, T, T), src_key_padding_mask (B, T) -> (B, T, d_model).
  Tensor forward(const Tensor& src, const IntTensor& src_mask = {}, const IntTensor& src_key_padding_mask = {});
  Tensor operator()(const Tensor& src, const IntTensor& src_mask = {}, const IntTensor& src_key_padding_mask = {}) {
    return forward(src, src_mask, src_key_padding_mask);
  }
  /// forward() that also returns the self-attention weights (B, T, T).
  TransformerResult forward_with_weights(const Tensor& src, const IntTensor& src_mask = {},
                                         const IntTensor& src_key_padding_mask = {});

  const TransformerLayerConfig& config() const { return config_; }

  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> linear2;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<Dropout> dropout1, dropout2;

 private:
  TransformerResult run(const Tensor& src, const IntTensor& src_mask, const IntTensor& src_key_padding_mask,
                        bool need_weights);
  TransformerLayerConfig config_;
};

/// self-attention, attention over the encoder's memory, and a feed-forward block
/// (torch.nn.TransformerDecoderLayer, batch_first = True). Children: self_attn, multihead_attn,
/// linear1, dropout, linear2, norm1, norm2, norm3, dropout1, dropout2, dropout3.
class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward = 2048, float dropout = 0.1f,
                          const std::string& activation = "relu", float layer_norm_eps = 1e-5f, bool norm_first = false,
                          Generator* gen = nullptr);
  explicit TransformerDecoderLayer(const TransformerLayerConfig& config);
  std::string type_name() const override { return "TransformerDecoderLayer"; }

  /// tgt (B, Tt, d_model), memory (B, Ts, d_model), tgt_mask (Tt, Tt), memory_mask (Tt, Ts), key
  /// padding masks (B, Tt) and (B, Ts) -> (B, Tt, d_model).
  Tensor forward(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask = {},
                 const IntTensor& memory_mask = {}, const IntTensor& tgt_key_padding_mask = {},
                 const IntTensor& memory_key_padding_mask = {});
  Tensor operator()(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask = {},
                    const IntTensor& memory_mask = {}, const IntTensor& tgt_key_padding_mask = {},
                    const IntTensor& memory_key_padding_mask = {}) {
    return forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
  }
  /// forward() that also returns the self-attention (B, Tt, Tt) and memory attention (B, Tt, Ts) weights.
  TransformerResult forward_with_weights(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask = {},
                                         const IntTensor& memory_mask = {}, const IntTensor& tgt_key_padding_mask = {},
                                         const IntTensor& memory_key_padding_mask = {});

  const TransformerLayerConfig& config() const { return config_; }

  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> linear2;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
  std::shared_ptr<Dropout> dropout1, dropout2, dropout3;

 private:
  TransformerResult run(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask,
                        const IntTensor& memory_mask, const IntTensor& tgt_key_padding_mask,
                        const IntTensor& memory_key_padding_mask, bool need_weights);
  TransformerLayerConfig config_;
};

/// Child modules named "0", "1", ... (a torch.nn.ModuleList): the `layers` child of the stacks.
class TransformerLayerList : public Module {
 public:
  std::string type_name() const override { return "ModuleList"; }
  void push_back(std::shared_ptr<Module> module) {
    register_module(std::to_string(children().size()), std::move(module));
  }
};

/// num_layers encoder layers, each with its own parameters, then an optional final LayerNorm
/// (torch.nn.TransformerEncoder(layer, num_layers, norm)). Names: layers.0.*, ..., norm.*.
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerLayerConfig& layer, int64_t num_layers, bool final_norm = false);
  std::string type_name() const override { return "TransformerEncoder"; }

  /// src (B, T, d_model), mask (T, T) or (B*nhead, T, T), src_key_padding_mask (B, T) -> (B, T, d_model).
  Tensor forward(const Tensor& src, const IntTensor& mask = {}, const IntTensor& src_key_padding_mask = {});
  Tensor operator()(const Tensor& src, const IntTensor& mask = {}, const IntTensor& src_key_padding_mask = {}) {
    return forward(src, mask, src_key_padding_mask);
  }
  /// forward() with every layer's self-attention weights.
  TransformerResult forward_with_weights(const Tensor& src, const IntTensor& mask = {},
                                         const IntTensor& src_key_padding_mask = {});

  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;  // null without a final norm

 private:
  TransformerResult run(const Tensor& src, const IntTensor& mask, const IntTensor& src_key_padding_mask,
                        bool need_weights);
};

/// num_layers decoder layers and an optional final LayerNorm (torch.nn.TransformerDecoder).
/// Names: layers.0.*, ..., norm.*.
class TransformerDecoder : public Module {
 public:
  TransformerDecoder(const TransformerLayerConfig& layer, int64_t num_layers, bool final_norm = false);
  std::string type_name() const override { return "TransformerDecoder"; }

  /// tgt (B, Tt, d_model), memory (B, Ts, d_model), masks as TransformerDecoderLayer -> (B, Tt, d_model).
  Tensor forward(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask = {},
                 const IntTensor& memory_mask = {}, const IntTensor& tgt_key_padding_mask = {},
                 const IntTensor& memory_key_padding_mask = {});
  Tensor operator()(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask = {},
                    const IntTensor& memory_mask = {}, const IntTensor& tgt_key_padding_mask = {},
                    const IntTensor& memory_key_padding_mask = {}) {
    return forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
  }
  /// forward() with every layer's self-attention and memory-attention weights.
  TransformerResult forward_with_weights(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask = {},
                                         const IntTensor& memory_mask = {}, const IntTensor& tgt_key_padding_mask = {},
                                         const IntTensor& memory_key_padding_mask = {});

  std::vector<std::shared_ptr<TransformerDecoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;  // null without a final norm

 private:
  TransformerResult run(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask,
                        const IntTensor& memory_mask, const IntTensor& tgt_key_padding_mask,
                        const IntTensor& memory_key_padding_mask, bool need_weights);
};

/// Encoder and decoder stacks, each ending in a LayerNorm (torch.nn.Transformer, batch_first = True).
/// Names: encoder.layers.N.*, encoder.norm.*, decoder.layers.N.*, decoder.norm.*. Every parameter of
/// more than one dim is re-initialised with xavier_uniform_, as torch does.
class Transformer : public Module {
 public:
  Transformer(int64_t d_model = 512, int64_t nhead = 8, int64_t num_encoder_layers = 6, int64_t num_decoder_layers = 6,
              int64_t dim_feedforward = 2048, float dropout = 0.1f, const std::string& activation = "relu",
              float layer_norm_eps = 1e-5f, bool norm_first = false, Generator* gen = nullptr);
  std::string type_name() const override { return "Transformer"; }

  /// src (B, Ts, d_model), tgt (B, Tt, d_model) and torch's masks -> (B, Tt, d_model).
  Tensor forward(const Tensor& src, const Tensor& tgt, const IntTensor& src_mask = {}, const IntTensor& tgt_mask = {},
                 const IntTensor& memory_mask = {}, const IntTensor& src_key_padding_mask = {},
                 const IntTensor& tgt_key_padding_mask = {}, const IntTensor& memory_key_padding_mask = {});
  Tensor operator()(const Tensor& src, const Tensor& tgt, const IntTensor& src_mask = {},
                    const IntTensor& tgt_mask = {}, const IntTensor& memory_mask = {},
                    const IntTensor& src_key_padding_mask = {}, const IntTensor& tgt_key_padding_mask = {},
                    const IntTensor& memory_key_padding_mask = {}) {
    return forward(src, tgt, src_mask, tgt_mask, memory_mask, src_key_padding_mask, tgt_key_padding_mask,
                   memory_key_padding_mask);
  }
  /// The encoder alone: src (B, Ts, d_model) -> memory (B, Ts, d_model) (translate once, decode many steps).
  Tensor encode(const Tensor& src, const IntTensor& src_mask = {}, const IntTensor& src_key_padding_mask = {});
  /// The decoder alone over a memory from encode().
  Tensor decode(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask = {},
                const IntTensor& memory_mask = {}, const IntTensor& tgt_key_padding_mask = {},
                const IntTensor& memory_key_padding_mask = {});

  int64_t d_model() const { return d_model_; }

  std::shared_ptr<TransformerEncoder> encoder;
  std::shared_ptr<TransformerDecoder> decoder;

 private:
  int64_t d_model_;
};

}  // namespace ag::nn
