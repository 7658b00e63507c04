#include "examples/translate/model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <nlohmann/json.hpp>
#include <tuple>

#include "attograd/core/core.h"
#include "attograd/nn/init.h"

namespace translate {

using ag::IntTensor;
using ag::Shape;
using ag::Tensor;

// ---- config -------------------------------------------------------------------------------------

std::string TranslationConfig::to_json() const {
  return nlohmann::json{{"arch", arch},
                        {"src_vocab", src_vocab},
                        {"trg_vocab", trg_vocab},
                        {"dropout", dropout},
                        {"d_model", d_model},
                        {"encoder_layers", encoder_layers},
                        {"decoder_layers", decoder_layers},
                        {"heads", heads},
                        {"feed_forward", feed_forward},
                        {"positions", positions},
                        {"max_len", max_len},
                        {"scale_embeddings", scale_embeddings},
                        {"tie_output", tie_output},
                        {"embed", embed},
                        {"hidden", hidden}}
      .dump();
}

namespace {

// An integer field in [0, 2^24]: validate() checks each size against the others. nlohmann's own
// conversion would take a float or a bool silently (and a float beyond int64 is undefined
// behaviour), so anything but an integer in range is an error.
int64_t size_field(const nlohmann::json& j, const char* key) {
  constexpr int64_t kMax = int64_t{1} << 24;
  const nlohmann::json& v = j.at(key);
  const bool ok = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(kMax)
                                         : v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= kMax;
  ag::check(ok, "the model config's {} must be an integer in [0, {}], got {}", key, kMax,
            v.is_number() ? v.dump() : std::string(v.type_name()));
  return v.get<int64_t>();
}

}  // namespace

TranslationConfig TranslationConfig::from_json(const std::string& text) {
  TranslationConfig c;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    c.arch = j.at("arch");
    c.src_vocab = size_field(j, "src_vocab");
    c.trg_vocab = size_field(j, "trg_vocab");
    const double dropout = j.at("dropout").get<double>();
    ag::check(j.at("dropout").is_number() && dropout >= 0 && dropout < 1,
              "the model config's dropout must be in [0, 1), got {}", j.at("dropout").dump());
    c.dropout = static_cast<float>(dropout);
    c.d_model = size_field(j, "d_model");
    c.encoder_layers = size_field(j, "encoder_layers");
    c.decoder_layers = size_field(j, "decoder_layers");
    c.heads = size_field(j, "heads");
    c.feed_forward = size_field(j, "feed_forward");
    c.positions = j.at("positions");
    c.max_len = size_field(j, "max_len");
    c.scale_embeddings = j.at("scale_embeddings");
    c.tie_output = j.value("tie_output", false);  // optional: a config without it has an untied output layer
    c.embed = size_field(j, "embed");
    c.hidden = size_field(j, "hidden");
  } catch (const nlohmann::json::exception& e) {
    throw ag::Error(fmt::format("the model config is not usable ({}): {}", e.what(), text));
  }
  return c;
}

void TranslationConfig::validate() const {
  using ag::check;
  const char* who = "TranslationConfig";
  check(arch == "transformer" || arch == "rnn", "{}: arch must be \"transformer\" or \"rnn\", got \"{}\"", who, arch);
  check(src_vocab >= kNumSpecials && trg_vocab >= kNumSpecials,
        "{}: src_vocab {} and trg_vocab {} must hold at least the {} special tokens", who, src_vocab, trg_vocab,
        kNumSpecials);
  check(dropout >= 0.0f && dropout < 1.0f, "{}: dropout {} is not in [0, 1)", who, dropout);
  if (arch == "transformer") {
    check(d_model > 0 && heads > 0 && feed_forward > 0 && max_len > 0,
          "{}: d_model {}, heads {}, feed_forward {} and max_len {} must be positive", who, d_model, heads,
          feed_forward, max_len);
    check(d_model % heads == 0, "{}: heads {} does not divide d_model {}", who, heads, d_model);
    check(encoder_layers >= 1 && decoder_layers >= 1, "{}: encoder_layers {} and decoder_layers {} must be >= 1", who,
          encoder_layers, decoder_layers);
    check(positions == "learned" || positions == "sinusoidal",
          "{}: positions must be \"learned\" or \"sinusoidal\", got \"{}\"", who, positions);
    // Each size may be fine alone and the model still absurd: embeddings, positions, output layer
    // and every layer's attention and feed-forward weights, in floats (an upper estimate).
    const double d = static_cast<double>(d_model);
    const double parameters = (static_cast<double>(src_vocab) + 2.0 * static_cast<double>(trg_vocab) + 2.0 * static_cast<double>(max_len)) * d +
                              static_cast<double>(encoder_layers + decoder_layers) * (8.0 * d * d + 2.0 * d * static_cast<double>(feed_forward));
    check(parameters <= 0x1p31, "{}: the sizes make {:.3g} parameters, more than the 2^31 (8 GB) accepted", who, parameters);
  } else {
    check(!tie_output, "{}: tie_output is a transformer option (the rnn's output layer is 2*hidden wide)", who);
    check(embed > 0 && hidden > 0, "{}: embed {} and hidden {} must be positive", who, embed, hidden);
    check(hidden % 2 == 0, "{}: hidden {} must be even (the encoder has hidden / 2 units per direction)", who, hidden);
    const double e = static_cast<double>(embed), h = static_cast<double>(hidden);  // an upper estimate, as above
    const double parameters = static_cast<double>(src_vocab + trg_vocab) * e + 16.0 * h * (e + h) + 4.0 * h * static_cast<double>(trg_vocab);
    check(parameters <= 0x1p31, "{}: the sizes make {:.3g} parameters, more than the 2^31 (8 GB) accepted", who, parameters);
  }
}

// ---- shared -------------------------------------------------------------------------------------

IntTensor padding_mask(const IntTensor& lengths, int64_t steps) {
  const int64_t B = lengths.numel();
  IntTensor mask({B, steps});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = lengths.data()[b]; t < steps; ++t) mask.data()[b * steps + t] = 1;
  return mask;
}

IntTensor pad_id_mask(const IntTensor& ids) {
  IntTensor mask(ids.shape());
  for (int64_t i = 0; i < ids.numel(); ++i) mask.data()[i] = ids.data()[i] == kPad;
  return mask;
}

IntTensor select_rows(const IntTensor& x, const std::vector<int64_t>& rows) {
  ag::check(x.dim() >= 1, "select_rows: x {} has no rows", x.shape());
  const int64_t n = x.size(0), row = n > 0 ? x.numel() / n : 0;
  Shape shape = x.shape();
  shape[0] = static_cast<int64_t>(rows.size());
  IntTensor out(shape);
  for (size_t i = 0; i < rows.size(); ++i) {
    ag::check(rows[i] >= 0 && rows[i] < n, "select_rows: row {} is out of range for x {}", rows[i], x.shape());
    std::copy_n(x.data() + rows[i] * row, row, out.data() + static_cast<int64_t>(i) * row);
  }
  return out;
}

namespace {

Tensor take_rows(const Tensor& x, const IntTensor& rows) { return x.defined() ? ag::index_select(x, 0, rows) : x; }

IntTensor as_index(const std::vector<int64_t>& rows) {
  return IntTensor(rows, Shape{static_cast<int64_t>(rows.size())});
}

template <class State>
State& state_of(DecoderState& state, const char* who) {
  auto* s = dynamic_cast<State*>(&state);
  ag::check(s != nullptr, "{}: the decoder state was made by another kind of model", who);
  return *s;
}

void check_tokens(const DecoderState& state, const IntTensor& last_tokens, const char* who) {
  ag::check(last_tokens.shape() == Shape{state.rows}, "{}: last_tokens {} must be (N) = ({}), one per state row", who,
            last_tokens.shape(), state.rows);
}

}  // namespace

bool DecoderState::keeps_sentences(const std::vector<int64_t>& rows) {
  std::vector<int64_t> next(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    ag::check(rows[i] >= 0 && rows[i] < static_cast<int64_t>(sentence.size()), "reorder: row {} is out of range for {} rows",
              rows[i], sentence.size());
    next[i] = sentence[rows[i]];
  }
  const bool same = next == sentence;
  sentence = std::move(next);
  return same;
}

Seq2Seq::Seq2Seq(const TranslationConfig& config) : config_(config) { config.validate(); }

void Seq2Seq::check_inputs(const IntTensor& src, const IntTensor& src_lengths, const IntTensor* trg_in,
                           const char* who) const {
  ag::check(src.dim() == 2 && src.size(0) >= 1 && src.size(1) >= 1, "{}: src {} must be (B, S) with B, S >= 1", who,
            src.shape());
  const int64_t B = src.size(0), S = src.size(1);
  ag::check(src_lengths.shape() == Shape{B}, "{}: src_lengths {} does not match the batch of src {} (expected ({}))",
            who, src_lengths.shape(), src.shape(), B);
  for (int64_t b = 0; b < B; ++b)
    ag::check(src_lengths.data()[b] >= 1 && src_lengths.data()[b] <= S,
              "{}: src_lengths[{}] = {} is out of [1, {}] (src {})", who, b, src_lengths.data()[b], S, src.shape());
  if (trg_in)
    ag::check(trg_in->dim() == 2 && trg_in->size(0) == B && trg_in->size(1) >= 1,
              "{}: trg_in {} must be (B, T) with the batch of src {}", who, trg_in->shape(), src.shape());
}

std::shared_ptr<Seq2Seq> make_model(const TranslationConfig& config) {
  config.validate();
  if (config.arch == "rnn") return std::make_shared<RnnSeq2Seq>(config);
  return std::make_shared<TransformerSeq2Seq>(config);
}

// ---- Transformer --------------------------------------------------------------------------------

namespace {

struct TransformerState : DecoderState {
  IntTensor src_mask;                              // (N, S), nonzero = padding
  std::vector<Tensor> memory_keys, memory_values;  // per layer (N, S, d_model): the memory projected once
  std::vector<Tensor> self_keys, self_values;      // per layer (N, steps, d_model): the prefix's k and v
};

// The position table behind a positions module: a learned weight or the fixed sinusoids.
const Tensor& position_table(ag::nn::UnaryModule& positions) {
  if (auto* learned = dynamic_cast<ag::nn::LearnedPositionalEncoding*>(&positions)) return learned->weight;
  return dynamic_cast<ag::nn::SinusoidalPositionalEncoding&>(positions).table();
}

}  // namespace

TransformerSeq2Seq::TransformerSeq2Seq(const TranslationConfig& config) : Seq2Seq(config) {
  const TranslationConfig& c = config_;
  src_embedding = register_module("src_embedding", std::make_shared<ag::nn::Embedding>(c.src_vocab, c.d_model, kPad));
  trg_embedding = register_module("trg_embedding", std::make_shared<ag::nn::Embedding>(c.trg_vocab, c.d_model, kPad));
  for (auto* e : {src_embedding.get(), trg_embedding.get()}) {
    ag::nn::init::normal_(e->weight, 0.0f, 1.0f / std::sqrt(static_cast<float>(c.d_model)));
    ag::NoGradGuard no_grad;
    std::fill_n(e->weight.mutable_data() + kPad * c.d_model, c.d_model, 0.0f);
  }
  if (c.positions == "learned") {
    src_positions =
        register_module("src_positions", std::make_shared<ag::nn::LearnedPositionalEncoding>(c.max_len, c.d_model));
    trg_positions =
        register_module("trg_positions", std::make_shared<ag::nn::LearnedPositionalEncoding>(c.max_len, c.d_model));
  } else {  // no parameters, one table for both sides
    src_positions = trg_positions =
        register_module("positions", std::make_shared<ag::nn::SinusoidalPositionalEncoding>(c.d_model, c.max_len));
  }
  dropout = register_module("dropout", std::make_shared<ag::nn::Dropout>(c.dropout));
  ag::nn::TransformerLayerConfig layer;
  layer.d_model = c.d_model;
  layer.nhead = c.heads;
  layer.dim_feedforward = c.feed_forward;
  layer.dropout = c.dropout;
  encoder = register_module("encoder", std::make_shared<ag::nn::TransformerEncoder>(layer, c.encoder_layers, true));
  decoder = register_module("decoder", std::make_shared<ag::nn::TransformerDecoder>(layer, c.decoder_layers, true));
  for (ag::nn::Module* stack :
       {static_cast<ag::nn::Module*>(encoder.get()), static_cast<ag::nn::Module*>(decoder.get())})
    for (auto& [_, p] : stack->named_parameters())  // torch's Transformer._reset_parameters
      if (p.dim() > 1) ag::nn::init::xavier_uniform_(p);
  output = register_module("output", std::make_shared<ag::nn::Linear>(c.d_model, c.trg_vocab));
  if (c.tie_output) output->weight = output->tie_parameter("weight", trg_embedding->weight);
}

Tensor TransformerSeq2Seq::embed(const IntTensor& ids, ag::nn::Embedding& embedding, ag::nn::UnaryModule& positions,
                                 int64_t offset) {
  const int64_t T = ids.size(1);
  ag::check(offset + T <= config_.max_len, "TransformerSeq2Seq: positions {} .. {} exceed max_len {}", offset,
            offset + T - 1, config_.max_len);
  Tensor x = embedding(ids);  // (B, T, d_model)
  if (config_.scale_embeddings) x = x * std::sqrt(static_cast<float>(config_.d_model));
  x = x + ag::narrow(position_table(positions), 0, offset, T);
  return (*dropout)(x);
}

Tensor TransformerSeq2Seq::encode(const IntTensor& src, const IntTensor& src_lengths) {
  check_inputs(src, src_lengths, nullptr, "TransformerSeq2Seq");
  return encoder->forward(embed(src, *src_embedding, *src_positions, 0), {}, padding_mask(src_lengths, src.size(1)));
}

// memory = encoder(src); y = decoder(trg_in, memory, causal mask, target pads, source pads); output(y)
Tensor TransformerSeq2Seq::forward(const IntTensor& src, const IntTensor& src_lengths, const IntTensor& trg_in) {
  check_inputs(src, src_lengths, &trg_in, "TransformerSeq2Seq");
  const Tensor memory = encode(src, src_lengths);
  const Tensor y = decoder->forward(embed(trg_in, *trg_embedding, *trg_positions, 0), memory,
                                    ag::nn::generate_square_subsequent_mask(trg_in.size(1)), {}, pad_id_mask(trg_in),
                                    padding_mask(src_lengths, src.size(1)));
  return output->forward(y);
}

std::unique_ptr<DecoderState> TransformerSeq2Seq::start(const IntTensor& src, const IntTensor& src_lengths) {
  auto state = std::make_unique<TransformerState>();
  const Tensor memory = encode(src, src_lengths);
  state->rows = src.size(0);
  state->sentence.resize(state->rows);
  std::iota(state->sentence.begin(), state->sentence.end(), int64_t{0});
  state->src_mask = padding_mask(src_lengths, src.size(1));
  for (auto& layer : decoder->layers) {
    auto [k, v] = layer->multihead_attn->project_key_value(memory, memory);
    state->memory_keys.push_back(k);
    state->memory_values.push_back(v);
  }
  state->self_keys.resize(decoder->layers.size());
  state->self_values.resize(decoder->layers.size());
  return state;
}

// One position through each post-norm decoder layer (TransformerDecoderLayer::forward, its query
// restricted to the new position): the new k, v join the cache, so the causal mask is implicit.
Tensor TransformerSeq2Seq::step(DecoderState& base, const IntTensor& last_tokens) {
  auto& s = state_of<TransformerState>(base, "TransformerSeq2Seq::step");
  check_tokens(s, last_tokens, "TransformerSeq2Seq::step");
  const int64_t N = s.rows;
  Tensor x = embed(last_tokens.reshape({N, 1}), *trg_embedding, *trg_positions, s.steps);  // (N, 1, d_model)
  Tensor weights;
  for (size_t l = 0; l < decoder->layers.size(); ++l) {
    auto& layer = *decoder->layers[l];
    auto [q, k, v] = layer.self_attn->project_self(x);
    s.self_keys[l] = s.steps == 0 ? k : ag::concat({s.self_keys[l], k}, 1);
    s.self_values[l] = s.steps == 0 ? v : ag::concat({s.self_values[l], v}, 1);
    Tensor a = layer.self_attn->attend(q, s.self_keys[l], s.self_values[l], {}, {}, false).output;
    x = (*layer.norm1)(x + (*layer.dropout1)(a));
    const bool last = l + 1 == decoder->layers.size();
    ag::AttentionResult m = layer.multihead_attn->attend(layer.multihead_attn->project_query(x), s.memory_keys[l],
                                                         s.memory_values[l], s.src_mask, {}, last);
    if (last) weights = m.weights;
    x = (*layer.norm2)(x + (*layer.dropout2)(m.output));
    Tensor hidden = (*layer.linear1)(x);
    hidden = layer.config().activation == "gelu" ? ag::gelu(hidden) : ag::relu(hidden);
    x = (*layer.norm3)(x + (*layer.dropout3)((*layer.linear2)((*layer.dropout)(hidden))));
  }
  if (decoder->norm) x = (*decoder->norm)(x);
  s.steps += 1;
  s.attention = weights.reshape({N, weights.size(-1)});
  return ag::log_softmax(output->forward(x).reshape({N, config_.trg_vocab}), -1);
}

void TransformerSeq2Seq::reorder(DecoderState& base, const std::vector<int64_t>& rows) {
  auto& s = state_of<TransformerState>(base, "TransformerSeq2Seq::reorder");
  const IntTensor index = as_index(rows);
  if (!s.keeps_sentences(rows)) {  // (also checks the range of rows) the source side moves only then
    s.src_mask = select_rows(s.src_mask, rows);
    for (auto* list : {&s.memory_keys, &s.memory_values})
      for (Tensor& t : *list) t = take_rows(t, index);
  }
  for (auto* list : {&s.self_keys, &s.self_values})
    for (Tensor& t : *list) t = take_rows(t, index);
  s.attention = take_rows(s.attention, index);
  s.rows = static_cast<int64_t>(rows.size());
}

// ---- LSTM encoder-decoder -----------------------------------------------------------------------

struct RnnSeq2Seq::Encoded {
  Tensor states;   // (B, S, hidden), 0 at padding
  Tensor h0, c0;   // (B, hidden): the decoder's initial state
  IntTensor mask;  // (B, S), nonzero = padding
};

namespace {

struct RnnState : DecoderState {
  Tensor states, keys;  // (N, S, hidden): encoder states and their attention projection
  IntTensor mask;       // (N, S)
  Tensor h, c;          // (N, hidden)
  Tensor context;       // (N, hidden): the previous step's attention context (input feeding)
};

// (2, B, H/2) final states of the two directions -> (B, H), forward half first.
Tensor join_directions(const Tensor& final_states) {
  const int64_t B = final_states.size(1);
  return ag::transpose(final_states, 0, 1).reshape({B, 2 * final_states.size(2)});
}

}  // namespace

RnnSeq2Seq::RnnSeq2Seq(const TranslationConfig& config) : Seq2Seq(config) {
  const TranslationConfig& c = config_;
  src_embedding = register_module("src_embedding", std::make_shared<ag::nn::Embedding>(c.src_vocab, c.embed, kPad));
  encoder = register_module("encoder", std::make_shared<ag::nn::LSTM>(c.embed, c.hidden / 2, 1, true));
  init_h = register_module("init_h", std::make_shared<ag::nn::Linear>(c.hidden, c.hidden));
  init_c = register_module("init_c", std::make_shared<ag::nn::Linear>(c.hidden, c.hidden));
  trg_embedding = register_module("trg_embedding", std::make_shared<ag::nn::Embedding>(c.trg_vocab, c.embed, kPad));
  decoder = register_module("decoder", std::make_shared<ag::nn::LSTMCell>(c.embed + c.hidden, c.hidden));
  attention = register_module("attention", std::make_shared<ag::nn::AdditiveAttention>(c.hidden, c.hidden, c.hidden));
  dropout = register_module("dropout", std::make_shared<ag::nn::Dropout>(c.dropout));
  output = register_module("output", std::make_shared<ag::nn::Linear>(2 * c.hidden, c.trg_vocab));
}

RnnSeq2Seq::Encoded RnnSeq2Seq::run_encoder(const IntTensor& src, const IntTensor& src_lengths) {
  check_inputs(src, src_lengths, nullptr, "RnnSeq2Seq");
  ag::nn::LSTMOutput out = encoder->forward((*dropout)((*src_embedding)(src)), src_lengths);
  return {out.output, ag::tanh((*init_h)(join_directions(out.h_n))), ag::tanh((*init_c)(join_directions(out.c_n))),
          padding_mask(src_lengths, src.size(1))};
}

Tensor RnnSeq2Seq::encode(const IntTensor& src, const IntTensor& src_lengths) {
  return run_encoder(src, src_lengths).states;
}

// h, c = cell([emb(y_{t-1}); context], h, c); context = attention(h, states); logits_t = output([h; context])
Tensor RnnSeq2Seq::forward(const IntTensor& src, const IntTensor& src_lengths, const IntTensor& trg_in) {
  check_inputs(src, src_lengths, &trg_in, "RnnSeq2Seq");
  const Encoded enc = run_encoder(src, src_lengths);
  const Tensor keys = attention->project_keys(enc.states);
  const int64_t B = trg_in.size(0), T = trg_in.size(1);
  const std::vector<Tensor> inputs = ag::split((*dropout)((*trg_embedding)(trg_in)), 1, 1);  // T x (B, 1, embed)
  Tensor h = enc.h0, c = enc.c0, context = ag::zeros({B, config_.hidden});
  std::vector<Tensor> outputs;
  for (int64_t t = 0; t < T; ++t) {
    std::tie(h, c) = decoder->forward(ag::concat({inputs[t].reshape({B, config_.embed}), context}, 1), h, c);
    context = attention->attend(h, keys, enc.states, enc.mask).output;
    outputs.push_back(ag::concat({h, context}, 1));
  }
  return output->forward((*dropout)(ag::stack(outputs, 1)));  // (B, T, trg_vocab)
}

std::unique_ptr<DecoderState> RnnSeq2Seq::start(const IntTensor& src, const IntTensor& src_lengths) {
  auto state = std::make_unique<RnnState>();
  Encoded enc = run_encoder(src, src_lengths);
  state->rows = src.size(0);
  state->sentence.resize(state->rows);
  std::iota(state->sentence.begin(), state->sentence.end(), int64_t{0});
  state->keys = attention->project_keys(enc.states);
  state->states = enc.states;
  state->mask = enc.mask;
  state->h = enc.h0;
  state->c = enc.c0;
  state->context = ag::zeros({state->rows, config_.hidden});
  return state;
}

Tensor RnnSeq2Seq::step(DecoderState& base, const IntTensor& last_tokens) {
  auto& s = state_of<RnnState>(base, "RnnSeq2Seq::step");
  check_tokens(s, last_tokens, "RnnSeq2Seq::step");
  const Tensor input = ag::concat({(*dropout)((*trg_embedding)(last_tokens)), s.context}, 1);
  std::tie(s.h, s.c) = decoder->forward(input, s.h, s.c);
  ag::AttentionResult a = attention->attend(s.h, s.keys, s.states, s.mask);
  s.context = a.output;
  s.attention = a.weights;
  s.steps += 1;
  return ag::log_softmax(output->forward((*dropout)(ag::concat({s.h, s.context}, 1))), -1);
}

void RnnSeq2Seq::reorder(DecoderState& base, const std::vector<int64_t>& rows) {
  auto& s = state_of<RnnState>(base, "RnnSeq2Seq::reorder");
  const IntTensor index = as_index(rows);
  if (!s.keeps_sentences(rows)) {  // (also checks the range of rows) the source side moves only then
    s.mask = select_rows(s.mask, rows);
    for (Tensor* t : {&s.states, &s.keys}) *t = take_rows(*t, index);
  }
  for (Tensor* t : {&s.h, &s.c, &s.context, &s.attention}) *t = take_rows(*t, index);
  s.rows = static_cast<int64_t>(rows.size());
}

}  // namespace translate
