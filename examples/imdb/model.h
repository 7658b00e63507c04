#pragma once
// The classic Keras IMDB attention classifier: Embedding -> BiLSTM -> AttentionPooling -> Linear,
// with dropout (off unless configured) after the embedding, the BiLSTM and the pooling.

#include <memory>
#include <string>

#include "attograd/nn/attention.h"
#include "attograd/nn/dropout.h"
#include "attograd/nn/embedding.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/lstm.h"

namespace imdb {

/// Everything that fixes the model and its input encoding; it travels inside checkpoints as JSON.
struct ModelConfig {
  int64_t vocab_size = 10000;  // ids, the reserved ones (0 pad, 1 start, 2 unknown) included
  int64_t maxlen = 200;        // reviews are padded or truncated to this many ids
  int64_t embed_dim = 128;
  int64_t hidden = 64;         // per LSTM direction
  float embed_dropout = 0.0f;  // on the embeddings, before the LSTM
  float lstm_dropout = 0.0f;   // on the BiLSTM outputs, before the attention
  float dropout = 0.0f;        // on the pooled vector, before the classifier
  bool mask = false;           // post-padding, LSTM lengths and attention mask (Keras: pre-padding, no mask)
  std::string init = "torch";  // "torch": attograd's (torch's) defaults; "keras": Keras's initialisers

  std::string to_json() const;
  static ModelConfig from_json(const std::string& json);
};

/// What the model returns for a batch.
struct Prediction {
  ag::Tensor logits;     // (B): sigmoid(logit) is P(positive)
  ag::Tensor attention;  // (B, T): the attention weights over positions
};

/// Parameter names: embedding.weight, lstm.weight_ih_l0 ... lstm.bias_hh_l0_reverse,
/// attention.weight, attention.bias, classifier.weight, classifier.bias.
class Classifier : public ag::nn::Module {
 public:
  explicit Classifier(const ModelConfig& config);
  std::string type_name() const override { return "ImdbClassifier"; }
  /// ids (B, T), lengths (B) (used when config.mask; shape (0) otherwise) -> logits, attention.
  Prediction forward(const ag::IntTensor& ids, const ag::IntTensor& lengths) const;
  const ModelConfig& config() const { return config_; }

 private:
  void keras_init();
  ModelConfig config_;
  std::shared_ptr<ag::nn::Embedding> embedding_;
  std::shared_ptr<ag::nn::Dropout> embed_dropout_;
  std::shared_ptr<ag::nn::LSTM> lstm_;
  std::shared_ptr<ag::nn::Dropout> lstm_dropout_;
  std::shared_ptr<ag::nn::AttentionPooling> attention_;
  std::shared_ptr<ag::nn::Dropout> dropout_;
  std::shared_ptr<ag::nn::Linear> classifier_;
};

}  // namespace imdb
