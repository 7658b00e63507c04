#pragma once
// The translation models: a Transformer and an LSTM encoder-decoder with Bahdanau attention, behind
// one interface (Seq2Seq) for teacher-forced training and for incremental decoding (decode.h).

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "attograd/nn/attention.h"
#include "attograd/nn/dropout.h"
#include "attograd/nn/embedding.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/lstm.h"
#include "attograd/nn/positional_encoding.h"
#include "attograd/nn/transformer.h"

namespace translate {

// The special tokens come first in both vocabularies (attograd/data/vocab.h), in this order.
inline constexpr int64_t kUnk = 0;
inline constexpr int64_t kPad = 1;
inline constexpr int64_t kSos = 2;
inline constexpr int64_t kEos = 3;
inline constexpr int64_t kNumSpecials = 4;

/// Everything that fixes a model; it travels inside checkpoints as JSON.
struct TranslationConfig {
  std::string arch = "transformer";  // "transformer" or "rnn"
  int64_t src_vocab = 8000;          // ids, the 4 specials included
  int64_t trg_vocab = 6000;
  float dropout = 0.1f;
  // transformer
  int64_t d_model = 256;
  int64_t encoder_layers = 3;
  int64_t decoder_layers = 3;
  int64_t heads = 8;
  int64_t feed_forward = 512;
  std::string positions = "learned";  // "learned" or "sinusoidal"
  int64_t max_len = 256;              // longest source or target (positions 0 .. max_len-1)
  bool scale_embeddings = true;       // token embeddings * sqrt(d_model) before the positions are added
  bool tie_output = false;            // the output layer's weight is the target embedding (Press & Wolf 2017)
  // rnn
  int64_t embed = 256;
  int64_t hidden = 512;  // decoder LSTM size; the encoder is bidirectional with hidden / 2 per direction

  std::string to_json() const;
  /// Raises ag::Error naming a missing or mistyped key.
  static TranslationConfig from_json(const std::string& json);
  /// Raises ag::Error naming the first bad field ("TranslationConfig: heads 3 does not divide d_model 256").
  void validate() const;
};

/// What a model keeps between decoding steps; each model has its own kind (made by start()).
struct DecoderState {
  virtual ~DecoderState() = default;
  int64_t rows = 0;      // N: hypotheses decoded side by side (rows of every tensor below)
  int64_t steps = 0;     // tokens fed so far (the next token sits at position `steps`)
  ag::Tensor attention;  // (N, S): cross-attention weights of the last step (undefined before one)
  /// The sentence of start()'s batch each row decodes. Rows of one sentence share its encoder
  /// output, so a reorder that keeps every row's sentence (beams that split within a sentence)
  /// leaves those tensors as they are.
  std::vector<int64_t> sentence;

  /// Sets `sentence` for a reorder to `rows`; true when every row keeps its sentence.
  bool keeps_sentences(const std::vector<int64_t>& rows);
};

/// An encoder-decoder over right-padded id batches. src (B, S) holds source ids padded with kPad,
/// src_lengths (B) the real lengths (in [1, S]); trg_in (B, T) is <sos> + target, padded with kPad.
class Seq2Seq : public ag::nn::Module {
 public:
  /// Teacher forcing: src (B, S), src_lengths (B), trg_in (B, T) -> logits (B, T, trg_vocab); position
  /// t sees trg_in[:, :t+1] only (causal) and the real source positions only.
  virtual ag::Tensor forward(const ag::IntTensor& src, const ag::IntTensor& src_lengths,
                             const ag::IntTensor& trg_in) = 0;
  /// The encoder alone: src (B, S), src_lengths (B) -> states (B, S, encoder_dim) (pad positions unused).
  virtual ag::Tensor encode(const ag::IntTensor& src, const ag::IntTensor& src_lengths) = 0;

  /// Runs the encoder once and returns a state with one row per sentence, ready for the <sos> step.
  virtual std::unique_ptr<DecoderState> start(const ag::IntTensor& src, const ag::IntTensor& src_lengths) = 0;
  /// Feeds last_tokens (N) at position state.steps -> log-probabilities (N, trg_vocab) of the next
  /// token; equals log_softmax(forward(...)) at that position, without recomputing the prefix. Sets
  /// state.attention.
  virtual ag::Tensor step(DecoderState& state, const ag::IntTensor& last_tokens) = 0;
  /// Keeps rows `rows` of the state, in that order (a row may repeat: a beam that splits).
  virtual void reorder(DecoderState& state, const std::vector<int64_t>& rows) = 0;
  /// The longest target step() can decode (positions of the target embedding).
  virtual int64_t max_steps() const = 0;

  const TranslationConfig& config() const { return config_; }

 protected:
  explicit Seq2Seq(const TranslationConfig& config);
  /// Checks src (B, S), src_lengths (B) in [1, S] and (when given) trg_in (B, T); `who` names the caller.
  void check_inputs(const ag::IntTensor& src, const ag::IntTensor& src_lengths, const ag::IntTensor* trg_in,
                    const char* who) const;
  TranslationConfig config_;
};

/// The model of config.arch; raises for a bad config.
std::shared_ptr<Seq2Seq> make_model(const TranslationConfig& config);

/// (B, S) with 1 at positions t >= lengths[b] (nonzero = padding, as nn masks want).
ag::IntTensor padding_mask(const ag::IntTensor& lengths, int64_t steps);
/// (B, T) with 1 where ids == kPad.
ag::IntTensor pad_id_mask(const ag::IntTensor& ids);
/// Rows `rows` of x (N, ...) in that order (index_select for IntTensor).
ag::IntTensor select_rows(const ag::IntTensor& x, const std::vector<int64_t>& rows);

/// "Attention is all you need" with post-norm layers and final encoder and decoder norms
/// (torch.nn.Transformer's layout). Embeddings ~ N(0, d_model^-1/2) with the <pad> row zero (so
/// scaled by sqrt(d_model) they have unit variance), encoder and decoder weights of more than one dim
/// xavier_uniform as torch's Transformer, the output layer Linear's init. Parameter names (the
/// checkpoint format):
///   src_embedding.weight (src_vocab, d_model), trg_embedding.weight (trg_vocab, d_model),
///   src_positions.weight, trg_positions.weight (max_len, d_model)   [positions == "learned" only],
///   encoder.layers.{i}.{self_attn.{in_proj_weight,in_proj_bias,out_proj.weight,out_proj.bias},
///     linear1.*, linear2.*, norm1.*, norm2.*}, encoder.norm.{weight,bias},
///   decoder.layers.{i}.{self_attn.*, multihead_attn.*, linear1.*, linear2.*, norm1.*, norm2.*, norm3.*},
///   decoder.norm.{weight,bias}, output.weight (trg_vocab, d_model), output.bias (trg_vocab).
/// With tie_output, output.weight is trg_embedding.weight: one tensor, trained once, saved under both
/// names (torch's state_dict does the same).
/// state.attention: the last decoder layer's attention over the source, averaged over heads.
class TransformerSeq2Seq : public Seq2Seq {
 public:
  explicit TransformerSeq2Seq(const TranslationConfig& config);
  std::string type_name() const override { return "TransformerSeq2Seq"; }

  ag::Tensor forward(const ag::IntTensor& src, const ag::IntTensor& src_lengths, const ag::IntTensor& trg_in) override;
  ag::Tensor encode(const ag::IntTensor& src, const ag::IntTensor& src_lengths) override;
  std::unique_ptr<DecoderState> start(const ag::IntTensor& src, const ag::IntTensor& src_lengths) override;
  ag::Tensor step(DecoderState& state, const ag::IntTensor& last_tokens) override;
  void reorder(DecoderState& state, const std::vector<int64_t>& rows) override;
  int64_t max_steps() const override { return config_.max_len; }

  std::shared_ptr<ag::nn::Embedding> src_embedding, trg_embedding;
  std::shared_ptr<ag::nn::UnaryModule> src_positions, trg_positions;  // the same sinusoid table when not learned
  std::shared_ptr<ag::nn::Dropout> dropout;
  std::shared_ptr<ag::nn::TransformerEncoder> encoder;
  std::shared_ptr<ag::nn::TransformerDecoder> decoder;
  std::shared_ptr<ag::nn::Linear> output;

 private:
  // ids (B, T) -> dropout(embedding * scale + positions[offset : offset+T]) (B, T, d_model).
  ag::Tensor embed(const ag::IntTensor& ids, ag::nn::Embedding& embedding, ag::nn::UnaryModule& positions,
                   int64_t offset);
};

/// Bahdanau-style LSTM encoder-decoder with input feeding (Luong): a bidirectional LSTM encoder with
/// hidden / 2 units per direction (states of size hidden, forward half first), the decoder's initial
/// h and c = tanh(Linear([final forward; final reverse])), then per target step
///   h, c = LSTMCell([embedding(y_{t-1}); context_{t-1}], h, c),  context_t = attention(h, encoder states),
///   logits_t = output(dropout([h; context_t])),
/// with context_0 = 0 and the additive attention masked on source padding. Dropout on both embeddings.
/// Parameter names (the checkpoint format):
///   src_embedding.weight (src_vocab, embed),
///   encoder.{weight_ih_l0 (2*hidden, embed), weight_hh_l0 (2*hidden, hidden/2), bias_ih_l0, bias_hh_l0 (2*hidden),
///            ..._reverse likewise},
///   init_h.weight (hidden, hidden), init_h.bias, init_c.weight (hidden, hidden), init_c.bias,
///   trg_embedding.weight (trg_vocab, embed),
///   decoder.{weight_ih (4*hidden, embed + hidden), weight_hh (4*hidden, hidden), bias_ih, bias_hh (4*hidden)},
///   attention.{query_proj.weight (hidden, hidden), key_proj.weight (hidden, hidden), key_proj.bias, v.weight (1,
///   hidden)}, output.weight (trg_vocab, 2*hidden), output.bias (trg_vocab).
/// state.attention: the additive attention weights of the last step.
class RnnSeq2Seq : public Seq2Seq {
 public:
  explicit RnnSeq2Seq(const TranslationConfig& config);
  std::string type_name() const override { return "RnnSeq2Seq"; }

  ag::Tensor forward(const ag::IntTensor& src, const ag::IntTensor& src_lengths, const ag::IntTensor& trg_in) override;
  ag::Tensor encode(const ag::IntTensor& src, const ag::IntTensor& src_lengths) override;
  std::unique_ptr<DecoderState> start(const ag::IntTensor& src, const ag::IntTensor& src_lengths) override;
  ag::Tensor step(DecoderState& state, const ag::IntTensor& last_tokens) override;
  void reorder(DecoderState& state, const std::vector<int64_t>& rows) override;
  int64_t max_steps() const override { return std::numeric_limits<int64_t>::max(); }

  std::shared_ptr<ag::nn::Embedding> src_embedding;
  std::shared_ptr<ag::nn::LSTM> encoder;
  std::shared_ptr<ag::nn::Linear> init_h, init_c;
  std::shared_ptr<ag::nn::Embedding> trg_embedding;
  std::shared_ptr<ag::nn::LSTMCell> decoder;
  std::shared_ptr<ag::nn::AdditiveAttention> attention;
  std::shared_ptr<ag::nn::Dropout> dropout;
  std::shared_ptr<ag::nn::Linear> output;

 private:
  struct Encoded;
  Encoded run_encoder(const ag::IntTensor& src, const ag::IntTensor& src_lengths);
};

}  // namespace translate
