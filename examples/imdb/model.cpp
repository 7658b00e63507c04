#include "examples/imdb/model.h"

#include <nlohmann/json.hpp>

#include "attograd/core/core.h"
#include "attograd/nn/init.h"

namespace imdb {

std::string ModelConfig::to_json() const {
  return nlohmann::json{{"vocab_size", vocab_size},
                        {"maxlen", maxlen},
                        {"embed_dim", embed_dim},
                        {"hidden", hidden},
                        {"embed_dropout", embed_dropout},
                        {"lstm_dropout", lstm_dropout},
                        {"dropout", dropout},
                        {"mask", mask},
                        {"init", init}}
      .dump();
}

namespace {

// An integer field in [lo, hi]. nlohmann's own conversion would take a float or a bool silently
// (and a float beyond int64 is undefined behaviour), so anything but an integer in range is an error.
int64_t integer_field(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi) {
  const nlohmann::json& v = j.at(key);
  const bool ok = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) && v.get<int64_t>() >= lo
                                         : v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  ag::check(ok, "model config: {} must be an integer in [{}, {}], got {}", key, lo, hi,
            v.is_number() ? v.dump() : std::string(v.type_name()));
  return v.get<int64_t>();
}

// A dropout probability in [0, 1); a config written before the key existed has none: 0.
float probability_field(const nlohmann::json& j, const char* key, bool required) {
  if (!required && !j.contains(key)) return 0.0f;
  const nlohmann::json& v = j.at(key);
  ag::check(v.is_number() && v.get<double>() >= 0 && v.get<double>() < 1, "model config: {} must be in [0, 1), got {}",
            key, v.dump());
  return static_cast<float>(v.get<double>());
}

}  // namespace

ModelConfig ModelConfig::from_json(const std::string& text) {
  ModelConfig c;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    c.vocab_size = integer_field(j, "vocab_size", 3, int64_t{1} << 24);  // the 3 reserved ids at least
    c.maxlen = integer_field(j, "maxlen", 1, int64_t{1} << 20);
    c.embed_dim = integer_field(j, "embed_dim", 1, int64_t{1} << 16);
    c.hidden = integer_field(j, "hidden", 1, int64_t{1} << 16);
    c.dropout = probability_field(j, "dropout", true);
    c.embed_dropout = probability_field(j, "embed_dropout", false);  // absent before 0.2: none
    c.lstm_dropout = probability_field(j, "lstm_dropout", false);
    c.mask = j.at("mask");
    c.init = j.value("init", "torch");
  } catch (const nlohmann::json::exception& e) {
    throw ag::Error(fmt::format("the checkpoint's model config is not usable ({}): {}", e.what(), text));
  }
  // Each size may be fine alone and the model still absurd: embedding plus LSTM weights, in floats.
  const double parameters = static_cast<double>(c.vocab_size) * static_cast<double>(c.embed_dim) +
                            8.0 * static_cast<double>(c.hidden) * static_cast<double>(c.embed_dim + c.hidden + 2);
  ag::check(parameters <= 0x1p31, "model config: vocab_size {}, embed_dim {} and hidden {} make {:.3g} parameters, "
            "more than the 2^31 (8 GB) accepted", c.vocab_size, c.embed_dim, c.hidden, parameters);
  return c;
}

Classifier::Classifier(const ModelConfig& config) : config_(config) {
  embedding_ = register_module("embedding", std::make_shared<ag::nn::Embedding>(config.vocab_size, config.embed_dim));
  embed_dropout_ = register_module("embed_dropout", std::make_shared<ag::nn::Dropout>(config.embed_dropout));
  lstm_ = register_module("lstm", std::make_shared<ag::nn::LSTM>(config.embed_dim, config.hidden, 1, /*bidirectional=*/true));
  lstm_dropout_ = register_module("lstm_dropout", std::make_shared<ag::nn::Dropout>(config.lstm_dropout));
  attention_ = register_module("attention", std::make_shared<ag::nn::AttentionPooling>(2 * config.hidden, config.maxlen));
  dropout_ = register_module("dropout", std::make_shared<ag::nn::Dropout>(config.dropout));
  classifier_ = register_module("classifier", std::make_shared<ag::nn::Linear>(2 * config.hidden, 1));
  ag::check(config.init == "keras" || config.init == "torch", "init must be keras or torch, got '{}'", config.init);
  if (config.init == "keras") keras_init();
}

// Keras's defaults for this model: Embedding U(-0.05, 0.05); LSTM kernel glorot_uniform over
// (input, 4H), recurrent kernel orthogonal, bias zeros but 1 on the forget gate (unit_forget_bias;
// Keras has one bias, so bias_hh stays 0); Dense glorot_uniform with a zero bias. AttentionPooling
// keeps its own (normal(0, 0.05) and zeros). Keras starts with much smaller embeddings than torch's
// N(0, 1).
void Classifier::keras_init() {
  namespace init = ag::nn::init;
  init::uniform_(embedding_->weight, -0.05f, 0.05f);
  const int64_t H = config_.hidden;
  for (ag::nn::LSTMWeights& w : lstm_->weights) {
    init::xavier_uniform_(w.weight_ih);  // fan_in = input, fan_out = 4H: Keras's kernel (input, 4H)
    init::orthogonal_(w.weight_hh);      // (4H, H) with orthonormal columns: Keras's (H, 4H) transposed
    init::zeros_(w.bias_ih);
    init::zeros_(w.bias_hh);
    ag::NoGradGuard no_grad;
    std::fill_n(w.bias_ih.mutable_data() + H, H, 1.0f);  // gate order i, f, g, o: the forget gate's slice
  }
  init::xavier_uniform_(classifier_->weight);
  init::zeros_(classifier_->bias);
}

Prediction Classifier::forward(const ag::IntTensor& ids, const ag::IntTensor& lengths) const {
  const int64_t batch = ids.size(0), steps = ids.size(1);
  ag::Tensor x = embed_dropout_->forward(embedding_->forward(ids));  // (B, T, E)
  ag::IntTensor pad_mask;                   // (B, T), nonzero = padding
  ag::IntTensor lstm_lengths;
  if (config_.mask) {
    lstm_lengths = lengths;
    pad_mask = ag::IntTensor({batch, steps});
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = lengths.data()[b]; t < steps; ++t) pad_mask.data()[b * steps + t] = 1;
  }
  ag::Tensor h = lstm_dropout_->forward(lstm_->forward(x, lstm_lengths).output);  // (B, T, 2H)
  ag::AttentionResult pooled = attention_->forward(h, pad_mask);
  ag::Tensor logits = classifier_->forward(dropout_->forward(pooled.output));  // (B, 1)
  return {logits.reshape({batch}), pooled.weights};
}

}  // namespace imdb
