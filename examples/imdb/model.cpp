#include "examples/imdb/model.h"

#include <nlohmann/json.hpp>

#include "core/core.h"

namespace imdb {

std::string ModelConfig::to_json() const {
  return nlohmann::json{{"vocab_size", vocab_size}, {"maxlen", maxlen}, {"embed_dim", embed_dim}, {"hidden", hidden},
                        {"dropout", dropout},       {"mask", mask}}
      .dump();
}

ModelConfig ModelConfig::from_json(const std::string& text) {
  ModelConfig c;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    c.vocab_size = j.at("vocab_size");
    c.maxlen = j.at("maxlen");
    c.embed_dim = j.at("embed_dim");
    c.hidden = j.at("hidden");
    c.dropout = j.at("dropout");
    c.mask = j.at("mask");
  } catch (const nlohmann::json::exception& e) {
    throw ag::Error(fmt::format("imdb: the checkpoint's model config is not usable ({}): {}", e.what(), text));
  }
  return c;
}

Classifier::Classifier(const ModelConfig& config) : config_(config) {
  embedding_ = register_module("embedding", std::make_shared<ag::nn::Embedding>(config.vocab_size, config.embed_dim));
  lstm_ = register_module("lstm", std::make_shared<ag::nn::LSTM>(config.embed_dim, config.hidden, 1, /*bidirectional=*/true));
  attention_ = register_module("attention", std::make_shared<ag::nn::AttentionPooling>(2 * config.hidden, config.maxlen));
  dropout_ = register_module("dropout", std::make_shared<ag::nn::Dropout>(config.dropout));
  classifier_ = register_module("classifier", std::make_shared<ag::nn::Linear>(2 * config.hidden, 1));
}

Prediction Classifier::forward(const ag::IntTensor& ids, const ag::IntTensor& lengths) const {
  const int64_t batch = ids.size(0), steps = ids.size(1);
  ag::Tensor x = embedding_->forward(ids);  // (B, T, E)
  ag::IntTensor pad_mask;                   // (B, T), nonzero = padding
  ag::IntTensor lstm_lengths;
  if (config_.mask) {
    lstm_lengths = lengths;
    pad_mask = ag::IntTensor({batch, steps});
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = lengths.data()[b]; t < steps; ++t) pad_mask.data()[b * steps + t] = 1;
  }
  ag::Tensor h = lstm_->forward(x, lstm_lengths).output;  // (B, T, 2H)
  ag::AttentionResult pooled = attention_->forward(h, pad_mask);
  ag::Tensor logits = classifier_->forward(dropout_->forward(pooled.output));  // (B, 1)
  return {logits.reshape({batch}), pooled.weights};
}

}  // namespace imdb
