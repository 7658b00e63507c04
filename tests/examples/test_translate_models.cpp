// The translation models and their decoding: gradchecks, causality, padded == unpadded, incremental
// decoding == teacher forcing, and the properties of greedy and beam search (beam 1 == greedy,
// batched == one at a time, <eos> handling, exhaustive optimum on a tiny vocabulary).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "attograd/core/core.h"
#include "examples/translate/decode.h"
#include "examples/translate/model.h"
#include "tests/test_util.h"

namespace {

using ag::IntTensor;
using ag::Tensor;
using ag::testing::error_of;
using ag::testing::expect_equal_rel;
using ag::testing::expect_mentions;
using translate::kEos;
using translate::kPad;
using translate::kSos;

using Sentences = std::vector<std::vector<int64_t>>;

translate::TranslationConfig transformer_config(const std::string& positions = "learned", int64_t layers = 2,
                                                int64_t vocab = 11) {
  translate::TranslationConfig c;
  c.arch = "transformer";
  c.src_vocab = vocab + 2;
  c.trg_vocab = vocab;
  c.d_model = 8;
  c.heads = 2;
  c.feed_forward = 16;
  c.encoder_layers = c.decoder_layers = layers;
  c.dropout = 0.0f;
  c.positions = positions;
  c.max_len = 16;
  return c;
}

translate::TranslationConfig rnn_config(int64_t vocab = 11) {
  translate::TranslationConfig c;
  c.arch = "rnn";
  c.src_vocab = vocab + 2;
  c.trg_vocab = vocab;
  c.embed = 6;
  c.hidden = 8;
  c.dropout = 0.0f;
  return c;
}

// A model with every parameter moved off its init a little (zero biases, unit norms and a zero
// <pad> row would hide mistakes), seeded so each test sees the same one.
std::shared_ptr<translate::Seq2Seq> make(const translate::TranslationConfig& c, uint64_t seed, float noise = 0.1f) {
  ag::manual_seed(seed);
  auto model = translate::make_model(c);
  ag::Generator gen(seed + 1000);
  ag::NoGradGuard no_grad;
  for (Tensor& p : model->parameters()) p.add_(ag::randn(p.shape(), gen), noise);
  return model;
}

std::vector<std::pair<std::string, std::shared_ptr<translate::Seq2Seq>>> all_models(uint64_t seed, int64_t vocab = 11) {
  return {{"transformer learned", make(transformer_config("learned", 2, vocab), seed)},
          {"transformer sinusoidal", make(transformer_config("sinusoidal", 1, vocab), seed + 1)},
          {"rnn", make(rnn_config(vocab), seed + 2)}};
}

// Random sentences of the given lengths over the word ids (the specials excluded).
Sentences random_sentences(const std::vector<int64_t>& lengths, int64_t vocab, uint64_t seed) {
  ag::Generator gen(seed);
  Sentences out;
  for (int64_t n : lengths) {
    std::vector<int64_t> s;
    for (int64_t i = 0; i < n; ++i)
      s.push_back(translate::kNumSpecials + static_cast<int64_t>(gen.next_below(vocab - translate::kNumSpecials)));
    out.push_back(s);
  }
  return out;
}

struct Batch {
  IntTensor ids, lengths;
};

// Right-padded with <pad> to `width` (0: the longest).
Batch pad(const Sentences& sentences, int64_t width = 0) {
  for (const auto& s : sentences) width = std::max<int64_t>(width, static_cast<int64_t>(s.size()));
  const int64_t B = static_cast<int64_t>(sentences.size());
  Batch batch{IntTensor::full({B, width}, kPad), IntTensor({B})};
  for (int64_t b = 0; b < B; ++b) {
    std::copy(sentences[b].begin(), sentences[b].end(), batch.ids.data() + b * width);
    batch.lengths.data()[b] = static_cast<int64_t>(sentences[b].size());
  }
  return batch;
}

// <sos> + each sentence, right-padded.
Batch teacher_input(const Sentences& targets, int64_t width = 0) {
  Sentences in;
  for (const auto& t : targets) {
    in.push_back({kSos});
    in.back().insert(in.back().end(), t.begin(), t.end());
  }
  return pad(in, width);
}

// x (B, T, ...) -> x[b : b+1, t0 : t0+n] (1, n, ...).
Tensor rows(const Tensor& x, int64_t b, int64_t t0, int64_t n) { return ag::narrow(ag::narrow(x, 0, b, 1), 1, t0, n); }

// ---- config and names ---------------------------------------------------------------------------

TEST(TranslateConfig, JsonRoundTripAndValidation) {
  translate::TranslationConfig c = transformer_config("sinusoidal");
  c.dropout = 0.25f;
  c.scale_embeddings = false;
  c.tie_output = true;
  const translate::TranslationConfig back = translate::TranslationConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.positions, "sinusoidal");
  EXPECT_FALSE(back.scale_embeddings);
  EXPECT_TRUE(back.tie_output);

  expect_mentions(error_of([] { translate::TranslationConfig::from_json(R"({"arch": "rnn"})"); }),
                  {"model config", "src_vocab"});
  translate::TranslationConfig bad = transformer_config();
  bad.heads = 3;
  expect_mentions(error_of([&] { translate::make_model(bad); }), {"heads 3", "d_model 8"});
  bad = transformer_config();
  bad.arch = "gru";
  expect_mentions(error_of([&] { translate::make_model(bad); }), {"arch", "gru"});
  bad = transformer_config();
  bad.positions = "rotary";
  expect_mentions(error_of([&] { translate::make_model(bad); }), {"positions", "rotary"});
  bad = rnn_config();
  bad.hidden = 7;
  expect_mentions(error_of([&] { translate::make_model(bad); }), {"hidden 7", "even"});
  bad = rnn_config();
  bad.tie_output = true;
  expect_mentions(error_of([&] { translate::make_model(bad); }), {"tie_output", "transformer"});
  bad = rnn_config();
  bad.trg_vocab = 3;
  expect_mentions(error_of([&] { translate::make_model(bad); }), {"trg_vocab 3", "special"});
}

TEST(TranslateModels, ParameterNamesAreTheDocumentedOnes) {
  const auto t = make(transformer_config("learned", 1), 1);
  std::vector<std::string> expected = {"src_embedding.weight", "trg_embedding.weight", "src_positions.weight",
                                       "trg_positions.weight"};
  const std::vector<std::string> mha = {"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"};
  for (const std::string& p : mha) expected.push_back("encoder.layers.0.self_attn." + p);
  for (const char* p : {"linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                        "norm1.bias", "norm2.weight", "norm2.bias"})
    expected.push_back(std::string("encoder.layers.0.") + p);
  expected.insert(expected.end(), {"encoder.norm.weight", "encoder.norm.bias"});
  for (const std::string m : {"self_attn.", "multihead_attn."})
    for (const std::string& p : mha) expected.push_back("decoder.layers.0." + m + p);
  for (const char* p : {"linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                        "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"})
    expected.push_back(std::string("decoder.layers.0.") + p);
  expected.insert(expected.end(), {"decoder.norm.weight", "decoder.norm.bias", "output.weight", "output.bias"});
  EXPECT_EQ(ag::testing::names_of(*t), expected);

  const auto sin = make(transformer_config("sinusoidal", 1), 1);
  EXPECT_EQ(ag::testing::names_of(*sin).size(), expected.size() - 2);  // no position tables

  // Tied: the same names in the checkpoint, one tensor fewer to train.
  translate::TranslationConfig tied_config = transformer_config("learned", 1);
  tied_config.tie_output = true;
  const auto tied = make(tied_config, 1);
  EXPECT_EQ(ag::testing::names_of(*tied), expected);
  EXPECT_EQ(tied->named_parameters().size(), expected.size() - 1);
  const auto* tt = dynamic_cast<translate::TransformerSeq2Seq*>(tied.get());
  ASSERT_NE(tt, nullptr);
  EXPECT_TRUE(tt->output->weight.is_same(tt->trg_embedding->weight));

  const auto model = make(rnn_config(), 2);
  const auto* r = dynamic_cast<translate::RnnSeq2Seq*>(model.get());
  ASSERT_NE(r, nullptr);
  const std::vector<std::string> rnn_expected = {"src_embedding.weight",
                                                 "encoder.weight_ih_l0",
                                                 "encoder.weight_hh_l0",
                                                 "encoder.bias_ih_l0",
                                                 "encoder.bias_hh_l0",
                                                 "encoder.weight_ih_l0_reverse",
                                                 "encoder.weight_hh_l0_reverse",
                                                 "encoder.bias_ih_l0_reverse",
                                                 "encoder.bias_hh_l0_reverse",
                                                 "init_h.weight",
                                                 "init_h.bias",
                                                 "init_c.weight",
                                                 "init_c.bias",
                                                 "trg_embedding.weight",
                                                 "decoder.weight_ih",
                                                 "decoder.weight_hh",
                                                 "decoder.bias_ih",
                                                 "decoder.bias_hh",
                                                 "attention.query_proj.weight",
                                                 "attention.key_proj.weight",
                                                 "attention.key_proj.bias",
                                                 "attention.v.weight",
                                                 "output.weight",
                                                 "output.bias"};
  EXPECT_EQ(ag::testing::names_of(*r), rnn_expected);
  EXPECT_EQ(r->encoder->weights[0].weight_hh.shape(), (ag::Shape{16, 4}));  // hidden / 2 per direction
  EXPECT_EQ(r->decoder->weight_ih.shape(), (ag::Shape{32, 6 + 8}));         // [embedding; context]
  EXPECT_EQ(r->output->weight.shape(), (ag::Shape{11, 16}));                // [h; context]
}

// ---- gradients ----------------------------------------------------------------------------------

// Every parameter of each model, through the per-position cross-entropy of forward's logits (the
// training loss; pad targets ignored, as the <pad> rows of the embeddings get no gradient by design).
// The loss rather than the raw logits: the float32 rounding of the central differences grows with
// S = sum_j |w_j y_j| (gradcheck.cpp): 12-16 for these 6 losses, several times that for 66 logits.
// It is still the largest term of the tolerance here: the float32 differences are off from a
// float64 PyTorch gradient of the same model and inputs by up to 1.2e-3 (1.2 u S / eps), inside
// gradcheck's noise bound 4 u S / eps ~ 3.9e-3; the analytic gradients agree with float64 to 7e-7.
TEST(TranslateModels, GradcheckForward) {
  const Batch src = pad(random_sentences({4, 2}, 13, 5));
  const Sentences targets = random_sentences({2, 1}, 11, 6);
  Sentences outputs = targets;
  for (auto& t : outputs) t.push_back(kEos);
  const Batch trg_in = teacher_input(targets), trg_out = pad(outputs);  // (2, 3), row 1 padded
  translate::TranslationConfig tied = transformer_config("learned", 1);
  tied.tie_output = true;  // the shared tensor's gradient sums its embedding and output uses
  for (const auto& [name, config] : {std::pair{"transformer", transformer_config("learned", 1)},
                                     std::pair{"transformer tied", tied}, std::pair{"rnn", rnn_config()}}) {
    auto model = make(config, 7);
    auto r = ag::gradcheck(
        [&](const std::vector<Tensor>&) {
          return ag::cross_entropy(model->forward(src.ids, src.lengths, trg_in.ids), trg_out.ids, kPad, 0.0f,
                                   ag::Reduction::None);
        },
        model->parameters());
    EXPECT_TRUE(r) << name << ": " << r.message << " ("
                   << model->named_parameters().at(std::max<int64_t>(r.input, 0)).first << ")";
  }
}

// Dropout is active in train mode only, and one training step reaches every parameter.
TEST(TranslateModels, DropoutInTrainingAndGradientsEverywhere) {
  const Batch src = pad(random_sentences({5, 3}, 13, 81));
  const Sentences targets = random_sentences({4, 2}, 11, 82);
  Sentences outputs = targets;
  for (auto& t : outputs) t.push_back(kEos);
  const Batch trg_in = teacher_input(targets), trg_out = pad(outputs);
  for (translate::TranslationConfig c : {transformer_config(), rnn_config()}) {
    c.dropout = 0.3f;
    auto model = make(c, 83);
    const Tensor a = model->forward(src.ids, src.lengths, trg_in.ids),
                 b = model->forward(src.ids, src.lengths, trg_in.ids);
    EXPECT_NE(a.to_vector(), b.to_vector()) << c.arch << ": dropout inactive in training";
    Tensor loss = ag::cross_entropy(a, trg_out.ids, kPad);
    loss.backward();
    for (auto& [name, p] : model->named_parameters()) {
      ASSERT_TRUE(p.grad().defined()) << c.arch << ": no gradient for " << name;
      ag::testing::expect_finite(p.grad(), name);
      float norm = 0;
      for (float g : p.grad().to_vector()) norm += g * g;
      EXPECT_GT(norm, 0.0f) << c.arch << ": zero gradient for " << name;
    }
    model->eval();
    EXPECT_EQ(model->forward(src.ids, src.lengths, trg_in.ids).to_vector(),
              model->forward(src.ids, src.lengths, trg_in.ids).to_vector())
        << c.arch;
  }
}

// ---- masks --------------------------------------------------------------------------------------

TEST(TranslateModels, DecoderIsCausal) {
  const Batch src = pad(random_sentences({5, 3}, 13, 1));
  const Batch trg = teacher_input(random_sentences({4, 4}, 11, 2));  // (2, 5)
  for (auto& [name, model] : all_models(3)) {
    const Tensor logits = model->forward(src.ids, src.lengths, trg.ids);
    for (int64_t t = 1; t < 5; ++t) {
      IntTensor changed(trg.ids.to_vector(), trg.ids.shape());
      for (int64_t b = 0; b < 2; ++b) {
        int64_t& id = changed.data()[b * 5 + t];
        id = id == 4 ? 5 : 4;
      }
      const Tensor after = model->forward(src.ids, src.lengths, changed);
      const std::vector<float> x = ag::narrow(logits, 1, 0, t).to_vector(), y = ag::narrow(after, 1, 0, t).to_vector();
      EXPECT_EQ(x, y) << name << ": changing target token " << t << " changed an earlier logit";
      float diff = 0;
      for (int64_t v = 0; v < 11; ++v) diff += std::fabs(after.at({0, t, v}) - logits.at({0, t, v}));
      EXPECT_GT(diff, 1e-4f) << name << ": position " << t << " ignores its own input";
    }
  }
}

// Sentence 1 (source 3 long, target 2 long) alone and inside a batch padded to 6 and 5.
TEST(TranslateModels, PaddedEqualsUnpadded) {
  Sentences sources = random_sentences({6, 3, 5}, 13, 11), targets = random_sentences({4, 2, 3}, 11, 12);
  const Batch src = pad(sources), trg = teacher_input(targets);  // (3, 6), (3, 5)
  const Batch src1 = pad({sources[1]}), trg1 = teacher_input({targets[1]});
  for (auto& [name, model] : all_models(13)) {
    expect_equal_rel(rows(model->encode(src.ids, src.lengths), 1, 0, 3), model->encode(src1.ids, src1.lengths),
                     name + " encoder");
    expect_equal_rel(rows(model->forward(src.ids, src.lengths, trg.ids), 1, 0, 3),
                     model->forward(src1.ids, src1.lengths, trg1.ids), name + " decoder logits");
  }
}

// ---- incremental decoding -----------------------------------------------------------------------

// start/step over trg_in's columns gives log_softmax(forward) at every real position, also after a
// reorder that drops, repeats and swaps rows.
TEST(TranslateModels, IncrementalDecodingEqualsTeacherForcing) {
  const Batch src = pad(random_sentences({5, 2, 4}, 13, 21));
  const Batch trg = teacher_input(random_sentences({5, 5, 3}, 11, 22));  // (3, 6), row 2 padded after 4
  for (auto& [name, model] : all_models(23)) {
    const Tensor expected = ag::log_softmax(model->forward(src.ids, src.lengths, trg.ids), -1);  // (3, 6, 11)
    auto state = model->start(src.ids, src.lengths);
    std::vector<int64_t> row_of = {0, 1, 2};  // the batch row each state row decodes
    for (int64_t t = 0; t < 6; ++t) {
      if (t == 2) {
        model->reorder(*state, {1, 0, 0});
        row_of = {1, 0, 0};
      }
      std::vector<int64_t> tokens;
      for (int64_t b : row_of) tokens.push_back(trg.ids.at({b, t}));
      const Tensor logp = model->step(*state, IntTensor(tokens, {3}));
      ASSERT_EQ(logp.shape(), (ag::Shape{3, 11}));
      ASSERT_EQ(state->attention.shape(), (ag::Shape{3, 5})) << name;
      for (int64_t r = 0; r < 3; ++r) {
        const int64_t b = row_of[r];
        if (trg.ids.at({b, t}) == kPad) continue;
        expect_equal_rel(ag::narrow(logp, 0, r, 1).reshape({11}), rows(expected, b, t, 1).reshape({11}),
                         name + " step " + std::to_string(t) + " row " + std::to_string(r));
        float total = 0;
        for (int64_t s = 0; s < 5; ++s) {
          total += state->attention.at({r, s});
          if (s >= src.lengths.data()[b]) {
            EXPECT_EQ(state->attention.at({r, s}), 0.0f) << name << ": pad attended";
          }
        }
        EXPECT_NEAR(total, 1.0f, 1e-5f) << name;
      }
    }
  }
}

// ---- decoding -----------------------------------------------------------------------------------

void expect_well_formed(const translate::Hypothesis& h, int64_t max_len, int64_t src_length, bool attention,
                        const std::string& what) {
  for (int64_t id : h.tokens) {
    EXPECT_NE(id, kEos) << what << ": <eos> inside the tokens";
    EXPECT_NE(id, kPad) << what;
    EXPECT_NE(id, kSos) << what;
  }
  EXPECT_LE(h.steps(), max_len) << what;
  if (!h.finished) {
    EXPECT_EQ(static_cast<int64_t>(h.tokens.size()), max_len) << what << ": cut off early";
  }
  if (attention) {
    ASSERT_TRUE(h.attention.defined()) << what;
    ASSERT_EQ(h.attention.shape(), (ag::Shape{h.steps(), src_length})) << what;
    for (int64_t i = 0; i < h.steps(); ++i) {
      float total = 0;
      for (int64_t s = 0; s < src_length; ++s) total += h.attention.at({i, s});
      EXPECT_NEAR(total, 1.0f, 1e-5f) << what;
    }
  }
}

TEST(TranslateDecoding, BeamOfOneIsGreedy) {
  const Batch src = pad(random_sentences({5, 2, 7, 3, 4}, 13, 31));
  for (auto& [name, model] : all_models(32)) {
    const auto greedy = translate::greedy_translate(*model, src.ids, src.lengths, 10, true);
    translate::BeamOptions o;
    o.beam_size = 1;
    o.length_penalty_alpha = 0.0f;
    o.max_len = 10;
    o.attention = true;
    const auto beam = translate::beam_translate(*model, src.ids, src.lengths, o);
    ASSERT_EQ(greedy.size(), 5u);
    ASSERT_EQ(beam.size(), 5u);
    for (size_t b = 0; b < 5; ++b) {
      ASSERT_EQ(beam[b].size(), 1u);
      EXPECT_EQ(beam[b][0].tokens, greedy[b].tokens) << name << " sentence " << b;
      EXPECT_EQ(beam[b][0].finished, greedy[b].finished) << name;
      EXPECT_NEAR(beam[b][0].score, greedy[b].score, 1e-5) << name;
      expect_well_formed(greedy[b], 10, src.lengths.data()[b], true, name + " greedy");
      expect_equal_rel(beam[b][0].attention, greedy[b].attention, name + " attention");
    }
    EXPECT_EQ(translate::greedy_decode(*model, src.ids, src.lengths, 10)[2], greedy[2].tokens);
    EXPECT_TRUE(model->is_training()) << "decoding must put the training mode back";
  }
}

TEST(TranslateDecoding, BatchedEqualsOneSentenceAtATime) {
  const Sentences sources = random_sentences({6, 2, 4, 7, 3, 5}, 13, 41);
  const Batch src = pad(sources);
  translate::BeamOptions o;
  o.beam_size = 3;
  o.length_penalty_alpha = 0.6f;
  o.max_len = 12;
  for (auto& [name, model] : all_models(42)) {
    const auto batched = translate::beam_translate(*model, src.ids, src.lengths, o);
    int compared = 0;
    for (size_t b = 0; b < sources.size(); ++b) {
      const Batch one = pad({sources[b]});
      const auto alone = translate::beam_translate(*model, one.ids, one.lengths, o);
      ASSERT_EQ(alone.size(), 1u);
      ASSERT_FALSE(batched[b].empty());
      for (const auto& h : batched[b]) expect_well_formed(h, o.max_len, src.lengths.data()[b], false, name);
      const auto& n = alone[0];
      const bool clear = n.size() < 2 || n[0].normalized - n[1].normalized > 1e-3;
      if (!clear) continue;
      ++compared;
      EXPECT_EQ(batched[b][0].tokens, n[0].tokens) << name << " sentence " << b;
      EXPECT_NEAR(batched[b][0].normalized, n[0].normalized, 1e-4) << name;
    }
    EXPECT_GE(compared, 3) << name << ": too few clear-cut sentences to compare";
  }
}

// Every hypothesis ends at its first <eos>: none inside the tokens, every finished one scored with
// exactly one <eos>, n-best sorted and of beam_size hypotheses at most.
TEST(TranslateDecoding, HypothesesEndAtTheirFirstEos) {
  const Batch src = pad(random_sentences({4, 6, 2}, 13, 51));
  translate::BeamOptions o;
  o.beam_size = 4;
  o.length_penalty_alpha = 1.0f;
  o.max_len = 6;
  o.attention = true;
  for (auto& [name, model] : all_models(52)) {
    const auto nbest = translate::beam_translate(*model, src.ids, src.lengths, o);
    for (size_t b = 0; b < nbest.size(); ++b) {
      ASSERT_FALSE(nbest[b].empty());
      EXPECT_LE(nbest[b].size(), 4u);
      for (size_t i = 0; i < nbest[b].size(); ++i) {
        const auto& h = nbest[b][i];
        expect_well_formed(h, o.max_len, src.lengths.data()[b], true, name);
        if (i > 0) {
          EXPECT_GE(nbest[b][i - 1].normalized, h.normalized) << name;
        }
        // Rescore by feeding <sos> + tokens: the score ends with <eos> exactly when finished.
        const int64_t* first = src.ids.data() + b * src.ids.size(1);
        const Batch one = pad({std::vector<int64_t>(first, first + src.lengths.data()[b])});
        ag::NoGradGuard no_grad;
        auto state = model->start(one.ids, one.lengths);
        double score = 0;
        int64_t last = kSos;
        std::vector<int64_t> sequence = h.tokens;
        if (h.finished) sequence.push_back(kEos);
        for (int64_t id : sequence) {
          score += model->step(*state, IntTensor({last}, {1})).at({0, id});
          last = id;
        }
        EXPECT_NEAR(score, h.score, 1e-4) << name;
        EXPECT_NEAR(h.normalized, h.score / translate::length_penalty(h.steps(), 1.0f), 1e-9) << name;
      }
    }
  }
}

// Tiny target vocabulary (<unk>, <pad>, <sos>, <eos>, one word: 3 tokens can be emitted) and
// max_len 4: a beam wide enough to hold every candidate finds the best of all 31 sequences. The
// output layer is sharpened (x3) and <eos> made less likely (its bias lowered by 0, 1.5, 3) so that the optimum is
// not always the empty sentence and a beam of 1 sometimes misses it.
TEST(TranslateDecoding, WideBeamFindsTheExhaustiveOptimum) {
  const Batch src = pad(random_sentences({3}, 7, 61));
  const int64_t max_len = 4;
  const std::vector<int64_t> emit = {translate::kUnk, kEos, 4};
  struct Scored {
    std::vector<int64_t> tokens;
    bool finished;
    double score;
  };
  // Every sequence: ended by <eos> within max_len, or max_len tokens without one.
  std::vector<Scored> sequences;
  std::function<void(std::vector<int64_t>)> grow = [&](std::vector<int64_t> prefix) {
    for (int64_t id : emit) {
      std::vector<int64_t> s = prefix;
      s.push_back(id);
      if (id == kEos) {
        sequences.push_back({prefix, true, 0});
      } else if (static_cast<int64_t>(s.size()) == max_len) {
        sequences.push_back({s, false, 0});
      } else {
        grow(s);
      }
    }
  };
  grow({});
  ASSERT_EQ(sequences.size(), 31u);
  int nonempty_optimum = 0, narrow_missed = 0;
  for (auto& [name, model] : all_models(62, 5)) {
    Tensor weight, bias;
    for (auto& [n, p] : model->named_parameters()) {
      if (n == "output.weight") weight = p;
      if (n == "output.bias") bias = p;
    }
    {
      ag::NoGradGuard no_grad;
      weight.mul_(3.0f);
    }
    for (float eos_shift : {0.0f, -1.5f, -1.5f}) {  // cumulative: 0, -1.5, -3
      {
        ag::NoGradGuard no_grad;
        bias.set({kEos}, bias.at({kEos}) + eos_shift);
      }
      std::vector<Scored> all = sequences;
      {
        ag::NoGradGuard no_grad;
        model->eval();
        for (Scored& s : all) {
          auto state = model->start(src.ids, src.lengths);
          std::vector<int64_t> sequence = s.tokens;
          if (s.finished) sequence.push_back(kEos);
          int64_t last = kSos;
          for (int64_t id : sequence) {
            s.score += model->step(*state, IntTensor({last}, {1})).at({0, id});
            last = id;
          }
        }
        model->train();
      }
      for (float alpha : {0.0f, 1.0f}) {
        std::vector<std::pair<double, const Scored*>> ranked;
        for (const Scored& s : all) {
          const int64_t steps = static_cast<int64_t>(s.tokens.size()) + (s.finished ? 1 : 0);
          ranked.push_back({s.score / translate::length_penalty(steps, alpha), &s});
        }
        std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        translate::BeamOptions o;
        o.beam_size = 27;  // >= the 24 candidates of the last step
        o.length_penalty_alpha = alpha;
        o.max_len = max_len;
        const auto found = translate::beam_translate(*model, src.ids, src.lengths, o);
        ASSERT_EQ(found.size(), 1u);
        ASSERT_FALSE(found[0].empty());
        const std::string what =
            name + ", eos bias " + std::to_string(bias.at({kEos})) + ", alpha " + std::to_string(alpha);
        EXPECT_NEAR(found[0][0].normalized, ranked[0].first, 1e-4) << what;
        if (ranked[0].first - ranked[1].first > 1e-3) {
          EXPECT_EQ(found[0][0].tokens, ranked[0].second->tokens) << what;
          EXPECT_EQ(found[0][0].finished, ranked[0].second->finished) << what;
        }
        nonempty_optimum += !ranked[0].second->tokens.empty();
        // A beam of 1 can only do as well or worse.
        o.beam_size = 1;
        const double narrow = translate::beam_translate(*model, src.ids, src.lengths, o)[0][0].normalized;
        EXPECT_LE(narrow, ranked[0].first + 1e-4) << what;
        narrow_missed += narrow < ranked[0].first - 1e-3;
      }
    }
  }
  EXPECT_GE(nonempty_optimum, 3) << "the optimum should not always be the empty sentence";
  EXPECT_GE(narrow_missed, 1) << "a beam of 1 should miss the optimum somewhere, or the test proves little";
}

// ---- errors -------------------------------------------------------------------------------------

TEST(TranslateModels, ErrorsNameTheProblem) {
  for (auto& entry : all_models(71)) {
    auto& model = entry.second;  // a plain reference the lambdas capture (clang before 16 cannot capture a binding)
    const Batch src = pad(random_sentences({3, 2}, 13, 72));
    const Batch trg = teacher_input(random_sentences({2, 2}, 11, 73));
    const IntTensor three({3, 3, 3}, {3});
    expect_mentions(error_of([&] { model->forward(src.ids, three, trg.ids); }), {"src_lengths (3)", "src (2, 3)"});
    expect_mentions(error_of([&] {
                      model->forward(src.ids, IntTensor({3, 4}, {2}), trg.ids);
                    }),
                    {"src_lengths[1] = 4", "[1, 3]"});
    expect_mentions(error_of([&] {
                      model->forward(src.ids, src.lengths, IntTensor::full({3, 2}, 4));
                    }),
                    {"trg_in (3, 2)", "src (2, 3)"});
    expect_mentions(error_of([&] { model->start(src.ids.reshape({6}), src.lengths); }), {"src (6)", "(B, S)"});
    auto state = model->start(src.ids, src.lengths);
    expect_mentions(error_of([&] { model->step(*state, IntTensor({kSos}, {1})); }), {"last_tokens (1)", "(2)"});
    expect_mentions(error_of([&] { model->reorder(*state, {0, 2}); }), {"row 2", "out of range"});
    expect_mentions(error_of([&] { translate::beam_search(*model, src.ids, src.lengths, 0, 0.6f, 5); }),
                    {"beam_size", "0"});
    expect_mentions(error_of([&] { translate::greedy_decode(*model, src.ids, src.lengths, 0); }), {"max_len", "0"});
  }
  auto transformer = make(transformer_config(), 74);
  auto rnn = make(rnn_config(), 75);
  const Batch src = pad(random_sentences({3}, 13, 76));
  auto rnn_state = rnn->start(src.ids, src.lengths);
  expect_mentions(error_of([&] { transformer->step(*rnn_state, IntTensor({kSos}, {1})); }),
                  {"TransformerSeq2Seq::step", "another kind of model"});
  expect_mentions(error_of([&] { translate::greedy_decode(*transformer, src.ids, src.lengths, 17); }),
                  {"max_len 17", "16"});
}

}  // namespace
