// Transformer layers, stacks and the whole model: golden cases against torch 1.13
// (tests/fixtures/attention.h5), gradchecks of tiny layers, padded == unpadded, causality, names,
// init, attention weights, positional encodings and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attograd/core/core.h"
#include "attograd/nn/positional_encoding.h"
#include "attograd/nn/transformer.h"
#include "tests/fixture.h"
#include "tests/test_util.h"

namespace {

using ag::IntTensor;
using ag::Tensor;
using ag::testing::error_of;
using ag::testing::expect_close;
using ag::testing::expect_mentions;
using ag::testing::Fixture;
using ag::testing::FixtureCase;
using ag::testing::random_leaf;
using ag::testing::expect_equal_rel;
using ag::testing::names_of;
namespace nn = ag::nn;

// Rows b, positions [start, start + n) of a (B, T, D) tensor.
Tensor rows(const Tensor& x, int64_t b, int64_t start, int64_t n) {
  return ag::narrow(ag::narrow(x, 0, b, 1), 1, start, n);
}

IntTensor mask_or_none(const FixtureCase& c, const std::string& name) {
  return c.has_input(name) ? c.input_ints(name) : IntTensor();
}

nn::TransformerLayerConfig config_of(const FixtureCase& c) {
  nn::TransformerLayerConfig config;
  config.d_model = c.attr_int("d_model");
  config.nhead = c.attr_int("nhead");
  config.dim_feedforward = c.attr_int("dim_feedforward");
  config.dropout = 0.0f;
  config.activation = c.file().attr_string("/" + c.name(), "activation");
  config.layer_norm_eps = static_cast<float>(c.attr_double("layer_norm_eps"));
  config.norm_first = c.attr_int("norm_first") != 0;
  return config;
}

// Names in torch's order, torch's weights, output, every parameter gradient and the input gradients.
void expect_golden(nn::Module& m, const FixtureCase& c, const Tensor& output,
                   const std::vector<std::pair<std::string, Tensor>>& inputs) {
  expect_close(output, c.output("output"), c.name() + " output");
  output.backward(c.upstream("output"));
  for (const auto& [name, p] : m.named_parameters()) expect_close(p.grad(), c.grad(name), c.name() + " grad " + name);
  for (const auto& [name, x] : inputs) expect_close(x.grad(), c.input_grad(name), c.name() + " input grad " + name);
}

TEST(TransformerGolden, EncoderLayers) {
  const Fixture fixture("attention.h5");
  for (const std::string name : {"encoder_layer_post_relu", "encoder_layer_pre_gelu"}) {
    const FixtureCase c = fixture[name];
    nn::TransformerEncoderLayer layer(config_of(c));
    EXPECT_EQ(names_of(layer), c.state_dict_keys());
    layer.load_state_dict(c.state());
    Tensor src = c.input("src").requires_grad_();
    const Tensor y = layer(src, mask_or_none(c, "src_mask"), c.input_ints("src_key_padding_mask"));
    expect_golden(layer, c, y, {{"src", src}});
  }
}

TEST(TransformerGolden, DecoderLayers) {
  const Fixture fixture("attention.h5");
  for (const std::string name : {"decoder_layer_post_relu", "decoder_layer_pre_gelu"}) {
    const FixtureCase c = fixture[name];
    nn::TransformerDecoderLayer layer(config_of(c));
    EXPECT_EQ(names_of(layer), c.state_dict_keys());
    layer.load_state_dict(c.state());
    Tensor tgt = c.input("tgt").requires_grad_(), memory = c.input("memory").requires_grad_();
    const Tensor y = layer(tgt, memory, c.input_ints("tgt_mask"), mask_or_none(c, "memory_mask"),
                           c.input_ints("tgt_key_padding_mask"), c.input_ints("memory_key_padding_mask"));
    expect_golden(layer, c, y, {{"tgt", tgt}, {"memory", memory}});
  }
}

TEST(TransformerGolden, WholeModel) {
  const FixtureCase c = Fixture("attention.h5")["transformer"];
  const nn::TransformerLayerConfig config = config_of(c);
  nn::Transformer model(config.d_model, config.nhead, c.attr_int("num_encoder_layers"),
                        c.attr_int("num_decoder_layers"), config.dim_feedforward, 0.0f, config.activation,
                        config.layer_norm_eps, config.norm_first);
  EXPECT_EQ(names_of(model), c.state_dict_keys());
  model.load_state_dict(c.state());
  Tensor src = c.input("src").requires_grad_(), tgt = c.input("tgt").requires_grad_();
  const Tensor y = model(src, tgt, {}, c.input_ints("tgt_mask"), {}, c.input_ints("src_key_padding_mask"),
                         c.input_ints("tgt_key_padding_mask"), c.input_ints("memory_key_padding_mask"));
  expect_golden(model, c, y, {{"src", src}, {"tgt", tgt}});
}

// Tiny layers (d_model 4, 2 heads, ff 6, dropout 0) with non-trivial norms and biases.
template <class Layer>
void perturb(Layer& layer, uint64_t seed) {
  ag::NoGradGuard no_grad;
  for (auto& [name, p] : layer.named_parameters())
    if (p.dim() == 1)
      p.copy_(random_leaf(p.shape(), seed++, 0.3f) +
              (name.find("norm") != std::string::npos && name.ends_with("weight") ? 1.0f : 0.0f));
}

std::vector<Tensor> with_parameters(std::vector<Tensor> inputs, const nn::Module& m) {
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  return inputs;
}

TEST(TransformerLayers, GradcheckEncoderLayer) {
  for (bool norm_first : {false, true}) {
    ag::manual_seed(21);
    nn::TransformerEncoderLayer layer(4, 2, 6, 0.0f, norm_first ? "gelu" : "relu", 1e-5f, norm_first);
    perturb(layer, 100);
    const Tensor src = random_leaf({2, 3, 4}, 1);
    const IntTensor kpm({0, 0, 0, 0, 0, 1}, {2, 3});
    auto r = ag::gradcheck(
        [&](const std::vector<Tensor>& in) { return layer(in[0], nn::generate_square_subsequent_mask(3), kpm); },
        with_parameters({src}, layer));
    EXPECT_TRUE(r) << (norm_first ? "pre-norm gelu: " : "post-norm relu: ") << r.message;
  }
}

TEST(TransformerLayers, GradcheckDecoderLayer) {
  for (bool norm_first : {false, true}) {
    ag::manual_seed(23);
    nn::TransformerDecoderLayer layer(4, 2, 6, 0.0f, norm_first ? "gelu" : "relu", 1e-5f, norm_first);
    perturb(layer, 250);
    const Tensor tgt = random_leaf({2, 3, 4}, 8), memory = random_leaf({2, 4, 4}, 9);
    const IntTensor tgt_kpm({0, 0, 0, 0, 0, 1}, {2, 3}), mem_kpm({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4});
    auto r = ag::gradcheck(
        [&](const std::vector<Tensor>& in) {
          return layer(in[0], in[1], nn::generate_square_subsequent_mask(3), {}, tgt_kpm, mem_kpm);
        },
        with_parameters({tgt, memory}, layer));
    EXPECT_TRUE(r) << (norm_first ? "pre-norm gelu: " : "post-norm relu: ") << r.message;
  }
}

// Batch 1 is 3 long (source) and 2 long (target) inside padded batches; padding holds junk.
TEST(TransformerLayers, PaddedEqualsUnpadded) {
  ag::manual_seed(23);
  nn::TransformerEncoderLayer enc(8, 2, 16, 0.0f);
  nn::TransformerDecoderLayer dec(8, 2, 16, 0.0f, "gelu", 1e-5f, true);
  const Tensor src = random_leaf({2, 5, 8}, 1), tgt = random_leaf({2, 4, 8}, 2);
  const IntTensor src_kpm({0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, {2, 5}), tgt_kpm({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4});
  const Tensor memory = enc(src, {}, src_kpm);
  const Tensor src1 = rows(src, 1, 0, 3), memory1 = enc(src1);
  expect_equal_rel(rows(memory, 1, 0, 3), memory1, "encoder layer");
  const Tensor out = dec(tgt, memory, nn::generate_square_subsequent_mask(4), {}, tgt_kpm, src_kpm);
  const Tensor out1 = dec(rows(tgt, 1, 0, 2), memory1, nn::generate_square_subsequent_mask(2));
  expect_equal_rel(rows(out, 1, 0, 2), out1, "decoder layer");
  expect_equal_rel(rows(out, 0, 0, 4),
                   dec(rows(tgt, 0, 0, 4), rows(memory, 0, 0, 5), nn::generate_square_subsequent_mask(4)),
                   "decoder layer, unpadded row");
}

// With the causal mask, target position i never sees positions after it.
TEST(TransformerLayers, CausalMaskHidesTheFuture) {
  ag::manual_seed(24);
  nn::Transformer model(8, 2, 2, 2, 16, 0.0f);
  const Tensor src = random_leaf({2, 5, 8}, 1), tgt = random_leaf({2, 4, 8}, 2);
  const IntTensor causal = nn::generate_square_subsequent_mask(4);
  const Tensor y = model(src, tgt, {}, causal);
  Tensor changed = tgt.detach().clone();
  {
    ag::NoGradGuard no_grad;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t e = 0; e < 8; ++e) changed.set({b, 3, e}, 5.0f + e);  // a different last token
  }
  const Tensor y2 = model(src, changed, {}, causal);
  expect_equal_rel(ag::narrow(y2, 1, 0, 3), ag::narrow(y, 1, 0, 3), "positions before the change");
  EXPECT_GT(std::fabs(y2.at({0, 3, 0}) - y.at({0, 3, 0})) + std::fabs(y2.at({0, 3, 1}) - y.at({0, 3, 1})), 1e-3f);
  // Without the mask, earlier positions do see the change.
  const Tensor open = model(src, tgt), open2 = model(src, changed);
  EXPECT_GT(std::fabs(open.at({0, 0, 0}) - open2.at({0, 0, 0})), 1e-6f);
}

TEST(TransformerLayers, SquareSubsequentMask) {
  const IntTensor m = nn::generate_square_subsequent_mask(4);
  EXPECT_EQ(m.shape(), (ag::Shape{4, 4}));
  EXPECT_EQ(m.to_vector(), (std::vector<int64_t>{0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0}));
}

TEST(TransformerLayers, NamesOfStacksAndModel) {
  nn::TransformerLayerConfig config;
  config.d_model = 8;
  config.nhead = 2;
  config.dim_feedforward = 16;
  nn::TransformerEncoder encoder(config, 2, true);
  const std::vector<std::string> names = names_of(encoder);
  ASSERT_EQ(names.size(), 2u * 12u + 2u);
  EXPECT_EQ(names.front(), "layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(names[12], "layers.1.self_attn.in_proj_weight");
  EXPECT_EQ(names[names.size() - 2], "norm.weight");
  nn::TransformerDecoder decoder(config, 1);
  EXPECT_EQ(names_of(decoder).size(), 18u);
  EXPECT_EQ(names_of(decoder)[4], "layers.0.multihead_attn.in_proj_weight");
  EXPECT_EQ(decoder.norm, nullptr);
}

TEST(TransformerLayers, ModelInitIsXavierForMatrices) {
  ag::manual_seed(25);
  nn::Transformer model(16, 4, 1, 1, 32, 0.1f);
  for (const auto& [name, p] : model.named_parameters()) {
    if (p.dim() < 2) continue;
    const float bound = std::sqrt(6.0f / static_cast<float>(p.size(0) + p.size(1)));
    float largest = 0;
    for (float w : p.to_vector()) largest = std::max(largest, std::fabs(w));
    EXPECT_LE(largest, bound) << name;
    EXPECT_GT(largest, 0.7f * bound) << name;
  }
}

TEST(TransformerLayers, ForwardWithWeightsShowsEveryLayer) {
  ag::manual_seed(26);
  nn::TransformerLayerConfig config;
  config.d_model = 8;
  config.nhead = 2;
  config.dim_feedforward = 16;
  config.dropout = 0.0f;
  nn::TransformerEncoder encoder(config, 2, true);
  nn::TransformerDecoder decoder(config, 2, true);
  const Tensor src = random_leaf({2, 5, 8}, 1), tgt = random_leaf({2, 3, 8}, 2);
  const IntTensor kpm({0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {2, 5});
  const nn::TransformerResult e = encoder.forward_with_weights(src, {}, kpm);
  expect_equal_rel(e.output, encoder(src, {}, kpm), "encoder output");
  ASSERT_EQ(e.self_attn_weights.size(), 2u);
  EXPECT_EQ(e.self_attn_weights[1].shape(), (ag::Shape{2, 5, 5}));
  EXPECT_EQ(e.self_attn_weights[0].at({1, 2, 4}), 0.0f);  // a padded key
  const nn::TransformerResult d =
      decoder.forward_with_weights(tgt, e.output, nn::generate_square_subsequent_mask(3), {}, {}, kpm);
  ASSERT_EQ(d.cross_attn_weights.size(), 2u);
  EXPECT_EQ(d.self_attn_weights[0].shape(), (ag::Shape{2, 3, 3}));
  EXPECT_EQ(d.cross_attn_weights[0].shape(), (ag::Shape{2, 3, 5}));
  EXPECT_EQ(d.self_attn_weights[0].at({0, 0, 1}), 0.0f);  // the future
  const Tensor row = ag::sum(d.cross_attn_weights[1], {-1});
  for (float s : row.to_vector()) EXPECT_NEAR(s, 1.0f, 1e-5f);
}

TEST(TransformerLayers, DropoutOnlyInTraining) {
  ag::manual_seed(27);
  nn::TransformerEncoderLayer layer(8, 2, 16, 0.3f);
  const Tensor src = random_leaf({2, 5, 8}, 1);
  layer.eval();
  const Tensor a = layer(src), b = layer(src);
  expect_equal_rel(a, b, "eval is deterministic");
  layer.train();
  const Tensor c = layer(src);
  float diff = 0;
  for (int64_t i = 0; i < a.numel(); ++i) diff = std::max(diff, std::fabs(a.data()[i] - c.data()[i]));
  EXPECT_GT(diff, 1e-3f);
}

TEST(TransformerLayers, ErrorsNameTheProblem) {
  expect_mentions(error_of([] { nn::TransformerEncoderLayer(8, 2, 16, 0.1f, "tanh"); }),
                  {"TransformerEncoderLayer", "activation", "tanh"});
  expect_mentions(error_of([] { nn::TransformerDecoderLayer(10, 4); }),
                  {"TransformerDecoderLayer", "10", "divisible", "4"});
  nn::TransformerDecoderLayer dec(8, 2, 16, 0.0f);
  const Tensor tgt = random_leaf({2, 3, 8}, 1);
  expect_mentions(error_of([&] { dec(tgt, random_leaf({3, 4, 8}, 2)); }), {"batch", "(3, 4, 8)"});
  expect_mentions(error_of([&] {
                    dec(tgt, random_leaf({2, 4, 8}, 2), nn::generate_square_subsequent_mask(4));
                  }),
                  {"attn_mask", "(4, 4)", "(3, 3)"});
  nn::TransformerEncoderLayer enc(8, 2, 16, 0.0f);
  expect_mentions(error_of([&] { enc(random_leaf({2, 3, 6}, 3)); }), {"(2, 3, 6)", "8"});
  expect_mentions(error_of([&] { enc(tgt, {}, IntTensor({2, 4})); }), {"key_padding_mask", "(2, 4)", "(2, 3)"});
  nn::Transformer model(8, 2, 1, 1, 16, 0.0f);
  expect_mentions(error_of([&] {
                    model(random_leaf({2, 5, 8}, 4), random_leaf({3, 4, 8}, 5));
                  }),
                  {"Transformer", "(2, 5, 8)", "(3, 4, 8)"});
}

// ---- positional encodings -------------------------------------------------------------------------

TEST(PositionalEncoding, SinusoidsFollowTheFormula) {
  nn::SinusoidalPositionalEncoding pe(6, 50);
  EXPECT_TRUE(pe.named_parameters().empty());
  EXPECT_TRUE(pe.state_dict().empty());
  for (int64_t pos : {0, 1, 7, 49})
    for (int64_t i = 0; i < 3; ++i) {
      const double angle = pos / std::pow(10000.0, 2.0 * i / 6.0);
      EXPECT_NEAR(pe.table().at({pos, 2 * i}), std::sin(angle), 1e-6);
      EXPECT_NEAR(pe.table().at({pos, 2 * i + 1}), std::cos(angle), 1e-6);
    }
  const Tensor x = random_leaf({2, 4, 6}, 1);
  const Tensor y = pe(x);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t j = 0; j < 6; ++j) EXPECT_FLOAT_EQ(y.at({b, t, j}), x.at({b, t, j}) + pe.table().at({t, j}));
  ag::sum(y * y).backward();
  expect_close(x.grad(), 2.0f * y.detach(), "sinusoidal input grad");
  expect_mentions(error_of([&] { pe(random_leaf({1, 51, 6}, 2)); }), {"SinusoidalPositionalEncoding", "51", "50"});
  expect_mentions(error_of([&] { pe(random_leaf({1, 5, 4}, 2)); }), {"(1, 5, 4)", "6"});
  nn::SinusoidalPositionalEncoding odd(5, 3);  // an odd width: the last dim is a sine
  EXPECT_NEAR(odd.table().at({2, 4}), std::sin(2.0 / std::pow(10000.0, 4.0 / 5.0)), 1e-6);
}

TEST(PositionalEncoding, LearnedTableGetsGradientsForUsedRows) {
  ag::manual_seed(28);
  nn::LearnedPositionalEncoding pe(10, 4);
  EXPECT_EQ(names_of(pe), (std::vector<std::string>{"weight"}));
  double sq = 0;
  for (float w : pe.weight.to_vector()) sq += w * w;
  EXPECT_NEAR(std::sqrt(sq / 40.0), 0.02, 0.008);
  const Tensor x = random_leaf({3, 6, 4}, 1);
  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::tanh(pe(in[0])); }, {x, pe.weight});
  EXPECT_TRUE(r) << r.message;
  pe.zero_grad();
  ag::sum(pe(x)).backward();
  for (int64_t t = 0; t < 10; ++t) EXPECT_EQ(pe.weight.grad().at({t, 0}), t < 6 ? 3.0f : 0.0f);
  expect_mentions(error_of([&] { pe(random_leaf({1, 11, 4}, 2)); }), {"LearnedPositionalEncoding", "11", "10"});
}

}  // namespace
