#include "attograd/nn/transformer.h"

#include "attograd/core/error.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/nn/init.h"

namespace ag::nn {

IntTensor generate_square_subsequent_mask(int64_t T) {
  check(T >= 0, "generate_square_subsequent_mask: size must be non-negative, got {}", T);
  IntTensor mask({T, T});
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = i + 1; j < T; ++j) mask.data()[i * T + j] = 1;
  return mask;
}

namespace {

TransformerLayerConfig make_config(int64_t d_model, int64_t nhead, int64_t dim_feedforward, float dropout,
                                   const std::string& activation, float layer_norm_eps, bool norm_first,
                                   Generator* gen) {
  return {d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, gen};
}

void check_config(const TransformerLayerConfig& c, const char* layer) {
  check(c.d_model > 0 && c.nhead > 0 && c.dim_feedforward > 0,
        "{}: d_model {}, nhead {} and dim_feedforward {} must be positive", layer, c.d_model, c.nhead,
        c.dim_feedforward);
  check(c.d_model % c.nhead == 0, "{}: d_model {} is not divisible by nhead {}", layer, c.d_model, c.nhead);
  check(c.activation == "relu" || c.activation == "gelu", "{}: activation must be \"relu\" or \"gelu\", got \"{}\"",
        layer, c.activation);
  check(c.dropout >= 0.0f && c.dropout <= 1.0f, "{}: dropout {} is not in [0, 1]", layer, c.dropout);
}

Tensor activate(const Tensor& x, const std::string& activation) { return activation == "gelu" ? gelu(x) : relu(x); }

// linear2(dropout(activation(linear1(x)))) then dropout_out: the feed-forward block.
Tensor feed_forward(const Tensor& x, const std::string& activation, Linear& linear1, Dropout& dropout, Linear& linear2,
                    Dropout& dropout_out) {
  return dropout_out(linear2(dropout(activate(linear1(x), activation))));
}

}  // namespace

// ---- encoder layer ------------------------------------------------------------------------------

TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward, float dropout,
                                                 const std::string& activation, float layer_norm_eps, bool norm_first,
                                                 Generator* gen)
    : TransformerEncoderLayer(
          make_config(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, gen)) {}

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerLayerConfig& c) : config_(c) {
  check_config(c, "TransformerEncoderLayer");
  self_attn =
      register_module("self_attn", std::make_shared<MultiheadAttention>(c.d_model, c.nhead, c.dropout, true, c.gen));
  linear1 = register_module("linear1", std::make_shared<Linear>(c.d_model, c.dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.dropout, c.gen));
  linear2 = register_module("linear2", std::make_shared<Linear>(c.dim_feedforward, c.d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d_model, c.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d_model, c.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(c.dropout, c.gen));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(c.dropout, c.gen));
}

// post-norm: x = norm1(x + sa(x)); x = norm2(x + ff(x))    pre-norm: x = x + sa(norm1(x)); x = x + ff(norm2(x))
TransformerResult TransformerEncoderLayer::run(const Tensor& src, const IntTensor& src_mask,
                                               const IntTensor& src_key_padding_mask, bool need_weights) {
  TransformerResult result;
  auto sa = [&](const Tensor& x) {
    AttentionResult a = self_attn->forward(x, x, x, src_key_padding_mask, src_mask, need_weights);
    if (need_weights) result.self_attn_weights.push_back(a.weights);
    return (*dropout1)(a.output);
  };
  auto ff = [&](const Tensor& x) {
    return feed_forward(x, config_.activation, *linear1, *dropout, *linear2, *dropout2);
  };
  Tensor x = src;
  if (config_.norm_first) {
    x = x + sa((*norm1)(x));
    x = x + ff((*norm2)(x));
  } else {
    x = (*norm1)(x + sa(x));
    x = (*norm2)(x + ff(x));
  }
  result.output = x;
  return result;
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const IntTensor& src_mask,
                                        const IntTensor& src_key_padding_mask) {
  return run(src, src_mask, src_key_padding_mask, false).output;
}

TransformerResult TransformerEncoderLayer::forward_with_weights(const Tensor& src, const IntTensor& src_mask,
                                                                const IntTensor& src_key_padding_mask) {
  return run(src, src_mask, src_key_padding_mask, true);
}

// ---- decoder layer ------------------------------------------------------------------------------

TransformerDecoderLayer::TransformerDecoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward, float dropout,
                                                 const std::string& activation, float layer_norm_eps, bool norm_first,
                                                 Generator* gen)
    : TransformerDecoderLayer(
          make_config(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, gen)) {}

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerLayerConfig& c) : config_(c) {
  check_config(c, "TransformerDecoderLayer");
  self_attn =
      register_module("self_attn", std::make_shared<MultiheadAttention>(c.d_model, c.nhead, c.dropout, true, c.gen));
  multihead_attn = register_module("multihead_attn",
                                   std::make_shared<MultiheadAttention>(c.d_model, c.nhead, c.dropout, true, c.gen));
  linear1 = register_module("linear1", std::make_shared<Linear>(c.d_model, c.dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.dropout, c.gen));
  linear2 = register_module("linear2", std::make_shared<Linear>(c.dim_feedforward, c.d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d_model, c.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d_model, c.layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(c.d_model, c.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(c.dropout, c.gen));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(c.dropout, c.gen));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(c.dropout, c.gen));
}

// post-norm: x = norm1(x + sa(x)); x = norm2(x + mha(x, mem)); x = norm3(x + ff(x))
// pre-norm:  x = x + sa(norm1(x)); x = x + mha(norm2(x), mem); x = x + ff(norm3(x))
TransformerResult TransformerDecoderLayer::run(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask,
                                               const IntTensor& memory_mask, const IntTensor& tgt_key_padding_mask,
                                               const IntTensor& memory_key_padding_mask, bool need_weights) {
  TransformerResult result;
  auto sa = [&](const Tensor& x) {
    AttentionResult a = self_attn->forward(x, x, x, tgt_key_padding_mask, tgt_mask, need_weights);
    if (need_weights) result.self_attn_weights.push_back(a.weights);
    return (*dropout1)(a.output);
  };
  auto mha = [&](const Tensor& x) {
    AttentionResult a = multihead_attn->forward(x, memory, memory, memory_key_padding_mask, memory_mask, need_weights);
    if (need_weights) result.cross_attn_weights.push_back(a.weights);
    return (*dropout2)(a.output);
  };
  auto ff = [&](const Tensor& x) {
    return feed_forward(x, config_.activation, *linear1, *dropout, *linear2, *dropout3);
  };
  Tensor x = tgt;
  if (config_.norm_first) {
    x = x + sa((*norm1)(x));
    x = x + mha((*norm2)(x));
    x = x + ff((*norm3)(x));
  } else {
    x = (*norm1)(x + sa(x));
    x = (*norm2)(x + mha(x));
    x = (*norm3)(x + ff(x));
  }
  result.output = x;
  return result;
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask,
                                        const IntTensor& memory_mask, const IntTensor& tgt_key_padding_mask,
                                        const IntTensor& memory_key_padding_mask) {
  return run(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, false).output;
}

TransformerResult TransformerDecoderLayer::forward_with_weights(const Tensor& tgt, const Tensor& memory,
                                                                const IntTensor& tgt_mask, const IntTensor& memory_mask,
                                                                const IntTensor& tgt_key_padding_mask,
                                                                const IntTensor& memory_key_padding_mask) {
  return run(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, true);
}

// ---- stacks -------------------------------------------------------------------------------------

TransformerEncoder::TransformerEncoder(const TransformerLayerConfig& layer, int64_t num_layers, bool final_norm) {
  check(num_layers >= 1, "TransformerEncoder: num_layers must be positive, got {}", num_layers);
  auto list = register_module("layers", std::make_shared<TransformerLayerList>());
  for (int64_t i = 0; i < num_layers; ++i) {
    layers.push_back(std::make_shared<TransformerEncoderLayer>(layer));
    list->push_back(layers.back());
  }
  if (final_norm) norm = register_module("norm", std::make_shared<LayerNorm>(layer.d_model, layer.layer_norm_eps));
}

TransformerResult TransformerEncoder::run(const Tensor& src, const IntTensor& mask,
                                          const IntTensor& src_key_padding_mask, bool need_weights) {
  TransformerResult result;
  Tensor x = src;
  for (auto& layer : layers) {
    if (!need_weights) {
      x = layer->forward(x, mask, src_key_padding_mask);
      continue;
    }
    TransformerResult r = layer->forward_with_weights(x, mask, src_key_padding_mask);
    x = r.output;
    result.self_attn_weights.push_back(r.self_attn_weights.at(0));
  }
  result.output = norm ? (*norm)(x) : x;
  return result;
}

Tensor TransformerEncoder::forward(const Tensor& src, const IntTensor& mask, const IntTensor& src_key_padding_mask) {
  return run(src, mask, src_key_padding_mask, false).output;
}

TransformerResult TransformerEncoder::forward_with_weights(const Tensor& src, const IntTensor& mask,
                                                           const IntTensor& src_key_padding_mask) {
  return run(src, mask, src_key_padding_mask, true);
}

TransformerDecoder::TransformerDecoder(const TransformerLayerConfig& layer, int64_t num_layers, bool final_norm) {
  check(num_layers >= 1, "TransformerDecoder: num_layers must be positive, got {}", num_layers);
  auto list = register_module("layers", std::make_shared<TransformerLayerList>());
  for (int64_t i = 0; i < num_layers; ++i) {
    layers.push_back(std::make_shared<TransformerDecoderLayer>(layer));
    list->push_back(layers.back());
  }
  if (final_norm) norm = register_module("norm", std::make_shared<LayerNorm>(layer.d_model, layer.layer_norm_eps));
}

TransformerResult TransformerDecoder::run(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask,
                                          const IntTensor& memory_mask, const IntTensor& tgt_key_padding_mask,
                                          const IntTensor& memory_key_padding_mask, bool need_weights) {
  TransformerResult result;
  Tensor x = tgt;
  for (auto& layer : layers) {
    if (!need_weights) {
      x = layer->forward(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
      continue;
    }
    TransformerResult r =
        layer->forward_with_weights(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
    x = r.output;
    result.self_attn_weights.push_back(r.self_attn_weights.at(0));
    result.cross_attn_weights.push_back(r.cross_attn_weights.at(0));
  }
  result.output = norm ? (*norm)(x) : x;
  return result;
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask,
                                   const IntTensor& memory_mask, const IntTensor& tgt_key_padding_mask,
                                   const IntTensor& memory_key_padding_mask) {
  return run(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, false).output;
}

TransformerResult TransformerDecoder::forward_with_weights(const Tensor& tgt, const Tensor& memory,
                                                           const IntTensor& tgt_mask, const IntTensor& memory_mask,
                                                           const IntTensor& tgt_key_padding_mask,
                                                           const IntTensor& memory_key_padding_mask) {
  return run(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, true);
}

// ---- Transformer --------------------------------------------------------------------------------

Transformer::Transformer(int64_t d_model, int64_t nhead, int64_t num_encoder_layers, int64_t num_decoder_layers,
                         int64_t dim_feedforward, float dropout, const std::string& activation, float layer_norm_eps,
                         bool norm_first, Generator* gen)
    : d_model_(d_model) {
  const TransformerLayerConfig layer =
      make_config(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, gen);
  encoder = register_module("encoder", std::make_shared<TransformerEncoder>(layer, num_encoder_layers, true));
  decoder = register_module("decoder", std::make_shared<TransformerDecoder>(layer, num_decoder_layers, true));
  for (auto& [_, p] : named_parameters())  // torch's Transformer._reset_parameters
    if (p.dim() > 1) init::xavier_uniform_(p);
}

Tensor Transformer::encode(const Tensor& src, const IntTensor& src_mask, const IntTensor& src_key_padding_mask) {
  check(src.defined() && src.dim() == 3 && src.size(2) == d_model_, "Transformer: src {} must be (B, Ts, d_model = {})",
        src.defined() ? src.shape() : Shape{}, d_model_);
  return encoder->forward(src, src_mask, src_key_padding_mask);
}

Tensor Transformer::decode(const Tensor& tgt, const Tensor& memory, const IntTensor& tgt_mask,
                           const IntTensor& memory_mask, const IntTensor& tgt_key_padding_mask,
                           const IntTensor& memory_key_padding_mask) {
  check(tgt.defined() && tgt.dim() == 3 && tgt.size(2) == d_model_, "Transformer: tgt {} must be (B, Tt, d_model = {})",
        tgt.defined() ? tgt.shape() : Shape{}, d_model_);
  check(memory.defined() && memory.dim() == 3 && memory.size(0) == tgt.size(0),
        "Transformer: the batch sizes of memory {} and tgt {} differ", memory.defined() ? memory.shape() : Shape{},
        tgt.shape());
  return decoder->forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
}

Tensor Transformer::forward(const Tensor& src, const Tensor& tgt, const IntTensor& src_mask, const IntTensor& tgt_mask,
                            const IntTensor& memory_mask, const IntTensor& src_key_padding_mask,
                            const IntTensor& tgt_key_padding_mask, const IntTensor& memory_key_padding_mask) {
  check(src.defined() && tgt.defined() && src.dim() == 3 && tgt.dim() == 3 && src.size(0) == tgt.size(0),
        "Transformer: the batch sizes of src {} and tgt {} differ (both must be (B, T, d_model))",
        src.defined() ? src.shape() : Shape{}, tgt.defined() ? tgt.shape() : Shape{});
  const Tensor memory = encode(src, src_mask, src_key_padding_mask);
  return decode(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
}

}  // namespace ag::nn
