// MultiheadAttention: golden cases against torch 1.13 (tests/fixtures/attention.h5), gradchecks with
// both masks, padded == unpadded, fully masked rows, the fused and separate projection paths,
// incremental decoding with cached keys and values, dropout on the weights, init and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attograd/core/core.h"
#include "attograd/nn/multihead_attention.h"
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
using ag::testing::expect_finite;
using ag::testing::names_of;
namespace nn = ag::nn;

// Runs backward of sum(upstream * output) + sum(upstream * weights) as the fixture did, then compares
// outputs, the module's names and parameter gradients, and the named inputs' gradients.
void expect_golden(nn::MultiheadAttention& mha, const FixtureCase& c, const ag::AttentionResult& r,
                   const std::vector<std::pair<std::string, Tensor>>& inputs) {
  expect_close(r.output, c.output("output"), c.name() + " output");
  expect_close(r.weights, c.output("weights"), c.name() + " weights");
  Tensor loss = ag::sum(r.output * c.upstream("output")) + ag::sum(r.weights * c.upstream("weights"));
  loss.backward();
  for (const auto& [name, p] : mha.named_parameters()) expect_close(p.grad(), c.grad(name), c.name() + " grad " + name);
  for (const auto& [name, x] : inputs) expect_close(x.grad(), c.input_grad(name), c.name() + " input grad " + name);
}

TEST(MultiheadAttentionGolden, SelfAttentionWithKeyPadding) {
  const FixtureCase c = Fixture("attention.h5")["mha_self"];
  nn::MultiheadAttention mha(c.attr_int("embed_dim"), c.attr_int("num_heads"));
  EXPECT_EQ(names_of(mha), c.state_dict_keys());
  mha.load_state_dict(c.state());
  Tensor x = c.input("x").requires_grad_();
  expect_golden(mha, c, mha(x, x, x, c.input_ints("key_padding_mask")), {{"x", x}});
}

TEST(MultiheadAttentionGolden, CrossAttentionWithAttnMaskAndKeyPadding) {
  const FixtureCase c = Fixture("attention.h5")["mha_cross"];
  nn::MultiheadAttention mha(c.attr_int("embed_dim"), c.attr_int("num_heads"));
  EXPECT_EQ(names_of(mha), c.state_dict_keys());
  mha.load_state_dict(c.state());
  Tensor query = c.input("query").requires_grad_(), memory = c.input("memory").requires_grad_();
  expect_golden(mha, c, mha(query, memory, memory, c.input_ints("key_padding_mask"), c.input_ints("attn_mask")),
                {{"query", query}, {"memory", memory}});
}

TEST(MultiheadAttentionGolden, SeparateKeyValuePerHeadMaskAndWeights) {
  const FixtureCase c = Fixture("attention.h5")["mha_kv_heads"];
  nn::MultiheadAttention mha(c.attr_int("embed_dim"), c.attr_int("num_heads"));
  EXPECT_EQ(names_of(mha), c.state_dict_keys());
  mha.load_state_dict(c.state());
  Tensor query = c.input("query").requires_grad_(), key = c.input("key").requires_grad_();
  Tensor value = c.input("value").requires_grad_();
  const ag::AttentionResult r =
      mha(query, key, value, c.input_ints("key_padding_mask"), c.input_ints("attn_mask"), true, false);
  EXPECT_EQ(r.weights.shape(), (ag::Shape{2, 2, 3, 5}));
  expect_golden(mha, c, r, {{"query", query}, {"key", key}, {"value", value}});
}

// Output and per-head weights in one tensor, so a gradcheck covers both.
Tensor both(const ag::AttentionResult& r) { return ag::concat({ag::flatten(r.output), ag::flatten(r.weights)}); }

std::vector<Tensor> with_parameters(std::vector<Tensor> inputs, const nn::Module& m) {
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  return inputs;
}

TEST(MultiheadAttention, GradcheckWithKeyPaddingAndAttnMask) {
  ag::manual_seed(11);
  nn::MultiheadAttention mha(4, 2);
  {  // non-zero biases, so their gradients are checked on a general point
    ag::NoGradGuard no_grad;
    mha.in_proj_bias.copy_(random_leaf({12}, 5, 0.3f));
    mha.out_proj->bias.copy_(random_leaf({4}, 6, 0.3f));
  }
  const Tensor q = random_leaf({2, 3, 4}, 1), k = random_leaf({2, 4, 4}, 2), v = random_leaf({2, 4, 4}, 3);
  const IntTensor kpm({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4});
  const IntTensor attn_mask({0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}, {3, 4});
  auto r = ag::gradcheck(
      [&](const std::vector<Tensor>& in) { return both(mha(in[0], in[1], in[2], kpm, attn_mask, true, false)); },
      with_parameters({q, k, v}, mha));
  EXPECT_TRUE(r) << r.message;
  // Self-attention (the fused projection) with a causal mask, and key is value (the fused k/v one).
  auto self = ag::gradcheck(
      [&](const std::vector<Tensor>& in) {
        return both(mha(in[0], in[0], in[0], kpm, nn::generate_square_subsequent_mask(4), true, false));
      },
      with_parameters({k}, mha));
  EXPECT_TRUE(self) << self.message;
  auto cross =
      ag::gradcheck([&](const std::vector<Tensor>& in) { return both(mha(in[0], in[1], in[1], kpm, {}, true, true)); },
                    with_parameters({q, k}, mha));
  EXPECT_TRUE(cross) << cross.message;
}

TEST(MultiheadAttention, FusedProjectionsMatchSeparateOnes) {
  ag::manual_seed(12);
  nn::MultiheadAttention mha(8, 2);
  const Tensor x = random_leaf({2, 5, 8}, 1), m = random_leaf({2, 6, 8}, 2), q = random_leaf({2, 3, 8}, 3);
  const ag::AttentionResult fused = mha(x, x, x), separate = mha(x, x.clone(), x.clone());
  expect_equal_rel(fused.output, separate.output, "self-attention output");
  expect_equal_rel(fused.weights, separate.weights, "self-attention weights");
  const ag::AttentionResult kv = mha(q, m, m), kv_separate = mha(q, m, m.clone());
  expect_equal_rel(kv.output, kv_separate.output, "cross-attention output");
}

// Batch 1 is 3 long inside a batch padded to 5; its padded positions hold junk.
TEST(MultiheadAttention, PaddedEqualsUnpadded) {
  ag::manual_seed(13);
  nn::MultiheadAttention mha(8, 2);
  const Tensor x = random_leaf({2, 5, 8}, 1);
  const IntTensor kpm({0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, {2, 5});
  const ag::AttentionResult padded = mha(x, x, x, kpm);
  const Tensor x1 = ag::narrow(ag::narrow(x, 0, 1, 1), 1, 0, 3);
  const ag::AttentionResult alone = mha(x1, x1, x1);
  expect_equal_rel(ag::narrow(ag::narrow(padded.output, 0, 1, 1), 1, 0, 3), alone.output, "output");
  expect_equal_rel(ag::narrow(ag::narrow(ag::narrow(padded.weights, 0, 1, 1), 1, 0, 3), 2, 0, 3), alone.weights,
                   "weights");
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 3; j < 5; ++j) EXPECT_EQ(padded.weights.at({1, i, j}), 0.0f);
  // Cross-attention over a padded memory: every query's output ignores the padded keys.
  const Tensor q = random_leaf({2, 4, 8}, 2);
  const ag::AttentionResult cross = mha(q, x, x, kpm);
  const Tensor q1 = ag::narrow(q, 0, 1, 1);
  expect_equal_rel(ag::narrow(cross.output, 0, 1, 1), mha(q1, x1, x1).output, "cross output");
}

TEST(MultiheadAttention, FullyMaskedRowGivesZeroWeightsAndFiniteGradients) {
  ag::manual_seed(14);
  nn::MultiheadAttention mha(4, 2);
  {
    ag::NoGradGuard no_grad;
    mha.out_proj->bias.copy_(random_leaf({4}, 6));
  }
  const Tensor q = random_leaf({2, 3, 4}, 1), k = random_leaf({2, 4, 4}, 2);
  const IntTensor kpm({0, 0, 1, 1, 1, 1, 1, 1}, {2, 4});  // batch 1: every key is padding
  const ag::AttentionResult r = mha(q, k, k, kpm, {}, true, false);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(r.weights.at({1, h, i, j}), 0.0f);
  for (int64_t i = 0; i < 3; ++i)  // zero attention output: out_proj gives its bias
    for (int64_t e = 0; e < 4; ++e) EXPECT_FLOAT_EQ(r.output.at({1, i, e}), mha.out_proj->bias.at({e}));
  ag::sum(r.output * r.output).backward();
  expect_finite(q.grad(), "query grad");
  expect_finite(k.grad(), "key grad");
  for (const auto& [name, p] : mha.named_parameters()) expect_finite(p.grad(), name);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t e = 0; e < 4; ++e) EXPECT_EQ(q.grad().at({1, i, e}), 0.0f);
}

// Decoding one step at a time with cached keys and values gives the causal full-sequence result.
TEST(MultiheadAttention, IncrementalDecodingMatchesCausalMask) {
  ag::manual_seed(15);
  nn::MultiheadAttention mha(8, 4);
  mha.eval();
  const Tensor x = random_leaf({2, 5, 8}, 1);
  const ag::AttentionResult full = mha(x, x, x, {}, nn::generate_square_subsequent_mask(5));
  Tensor k_cache, v_cache;
  for (int64_t t = 0; t < 5; ++t) {
    const Tensor xt = ag::narrow(x, 1, t, 1);
    const auto [k, v] = mha.project_key_value(xt, xt);
    k_cache = t == 0 ? k : ag::concat({k_cache, k}, 1);
    v_cache = t == 0 ? v : ag::concat({v_cache, v}, 1);
    const ag::AttentionResult step = mha.attend(mha.project_query(xt), k_cache, v_cache);
    expect_equal_rel(step.output, ag::narrow(full.output, 1, t, 1), "step " + std::to_string(t));
    expect_equal_rel(step.weights, ag::narrow(ag::narrow(full.weights, 1, t, 1), 2, 0, t + 1), "weights");
  }
}

TEST(MultiheadAttention, DropoutOnTheWeightsInTrainingOnly) {
  ag::manual_seed(16);
  ag::Generator gen(7);
  nn::MultiheadAttention mha(8, 2, 0.5f, true, &gen);
  const Tensor x = random_leaf({2, 6, 8}, 1);
  mha.eval();
  const ag::AttentionResult plain = mha(x, x, x, {}, {}, true, false);
  EXPECT_EQ(gen.offset(), 0u);
  mha.train();
  const ag::AttentionResult dropped = mha(x, x, x, {}, {}, true, false);
  EXPECT_GT(gen.offset(), 0u);
  int zeros = 0;
  for (int64_t i = 0; i < plain.weights.numel(); ++i) {
    const float w = dropped.weights.data()[i];
    if (w == 0.0f)
      ++zeros;
    else
      EXPECT_NEAR(w, 2.0f * plain.weights.data()[i], 1e-6f);
  }
  EXPECT_GT(zeros, plain.weights.numel() / 4);
  EXPECT_LT(zeros, 3 * plain.weights.numel() / 4);
  // The backward recomputes the same keep mask: gradcheck with the generator reset on every call.
  auto r = ag::gradcheck(
      [&](const std::vector<Tensor>& in) {
        gen.set_state(7, 0);
        return both(mha(in[0], in[0], in[0], {}, {}, true, false));
      },
      with_parameters({random_leaf({1, 3, 8}, 2)}, mha));
  EXPECT_TRUE(r) << r.message;
}

TEST(MultiheadAttention, InitAndNamesFollowTorch) {
  ag::manual_seed(17);
  nn::MultiheadAttention mha(16, 4);
  EXPECT_EQ(names_of(mha),
            (std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"}));
  EXPECT_EQ(mha.in_proj_weight.shape(), (ag::Shape{48, 16}));
  const float bound = std::sqrt(6.0f / (16 + 48));
  float largest = 0;
  for (float w : mha.in_proj_weight.to_vector()) largest = std::max(largest, std::fabs(w));
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.8f * bound);
  for (float b : mha.in_proj_bias.to_vector()) EXPECT_EQ(b, 0.0f);
  for (float b : mha.out_proj->bias.to_vector()) EXPECT_EQ(b, 0.0f);
  nn::MultiheadAttention no_bias(16, 4, 0.0f, false);
  EXPECT_EQ(names_of(no_bias), (std::vector<std::string>{"in_proj_weight", "out_proj.weight"}));
  const Tensor x = random_leaf({1, 2, 16}, 1);
  EXPECT_EQ(no_bias(x, x, x).output.shape(), (ag::Shape{1, 2, 16}));
}

TEST(MultiheadAttention, ErrorsNameTheProblem) {
  expect_mentions(error_of([] { nn::MultiheadAttention(10, 3); }), {"MultiheadAttention", "10", "divisible", "3"});
  nn::MultiheadAttention mha(8, 2);
  const Tensor x = random_leaf({2, 5, 8}, 1), m = random_leaf({2, 6, 8}, 2);
  expect_mentions(error_of([&] { mha(random_leaf({5, 8}, 3), m, m); }), {"MultiheadAttention", "(5, 8)"});
  expect_mentions(error_of([&] { mha(random_leaf({2, 5, 6}, 3), m, m); }), {"MultiheadAttention", "(2, 5, 6)", "8"});
  expect_mentions(error_of([&] { mha(x, m, random_leaf({2, 7, 8}, 4)); }), {"(2, 6, 8)", "(2, 7, 8)", "lengths"});
  expect_mentions(error_of([&] {
                    mha(x, random_leaf({3, 6, 8}, 4), random_leaf({3, 6, 8}, 4));
                  }),
                  {"batch", "(3, 6, 8)"});
  expect_mentions(error_of([&] { mha(x, m, m, IntTensor({2, 5})); }), {"key_padding_mask", "(2, 5)", "(2, 6)"});
  expect_mentions(error_of([&] {
                    mha(x, m, m, {}, IntTensor({5, 5}));
                  }),
                  {"attn_mask", "(5, 5)", "(5, 6)", "(4, 5, 6)"});
}

}  // namespace
