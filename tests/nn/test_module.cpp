// Module: names, state dicts and their errors, train/eval, summary, Sequential, init, gradchecks.
#include <gtest/gtest.h>

#include <cmath>

#include "attograd/core/core.h"
#include "attograd/nn/dropout.h"
#include "attograd/nn/embedding.h"
#include "attograd/nn/init.h"
#include "attograd/nn/layer_norm.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/loss.h"
#include "attograd/nn/sequential.h"
#include "tests/test_util.h"

namespace {

using ag::Tensor;
using ag::testing::error_of;
using ag::testing::expect_mentions;
using ag::testing::names_of;
namespace nn = ag::nn;

// A user-style module with a child, a parameter and a buffer.
class Block : public nn::Module {
 public:
  Block() {
    proj = register_module("proj", std::make_shared<nn::Linear>(4, 3));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(3));
    scale = register_parameter("scale", ag::ones({3}));
    running = register_buffer("running", ag::zeros({3}));
  }
  std::string type_name() const override { return "Block"; }
  std::shared_ptr<nn::Linear> proj;
  std::shared_ptr<nn::LayerNorm> norm;
  Tensor scale, running;
};

TEST(Module, NamesAreDotJoinedInRegistrationOrder) {
  Block b;
  EXPECT_EQ(names_of(b.named_parameters()),
            (std::vector<std::string>{"scale", "proj.weight", "proj.bias", "norm.weight", "norm.bias"}));
  EXPECT_EQ(names_of(b.state_dict()).back(), "running");
  EXPECT_EQ(b.parameters().size(), 5u);
  EXPECT_EQ(b.num_parameters(), 3 + 12 + 3 + 3 + 3);
  std::vector<std::string> modules;
  for (auto& [n, m] : b.named_modules()) modules.push_back(n + ":" + m->type_name());
  EXPECT_EQ(modules, (std::vector<std::string>{":Block", "proj:Linear", "norm:LayerNorm"}));
  for (const Tensor& p : b.parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_FALSE(b.running.requires_grad());
}

TEST(Module, RegistrationErrors) {
  Block b;
  expect_mentions(error_of([&] { b.register_parameter("scale", ag::ones({1})); }), {"scale", "already"});
  expect_mentions(error_of([&] { b.register_parameter("a.b", ag::ones({1})); }), {"a.b"});
  expect_mentions(error_of([&] { b.register_module("proj", std::make_shared<nn::Linear>(1, 1)); }), {"proj"});
}

TEST(Module, StateDictRoundTripCopiesValuesIntoTheSameTensors) {
  Block a, b;
  const Tensor weight_before = b.proj->weight;
  b.load_state_dict(a.state_dict());
  EXPECT_TRUE(b.proj->weight.is_same(weight_before));  // loaded in place: references stay valid
  for (const auto& [name, t] : a.state_dict()) {
    const auto other = b.state_dict();
    for (const auto& [n2, t2] : other) {
      if (n2 == name) {
        EXPECT_EQ(t.to_vector(), t2.to_vector()) << name;
      }
    }
  }
}

TEST(Module, LoadStateDictRefusesMissingUnexpectedAndWrongShapes) {
  Block b;
  nn::NamedTensors state = b.state_dict();
  state.erase(state.begin());                          // drop "scale"
  state.emplace_back("extra.weight", ag::ones({2}));   // unknown
  state[0].second = ag::ones({3, 5});                  // proj.weight is (3, 4)
  const std::string msg = error_of([&] { b.load_state_dict(state); });
  expect_mentions(msg, {"load_state_dict", "missing: scale", "unexpected: extra.weight", "proj.weight", "(3, 4)", "(3, 5)"});
  // Non-strict ignores missing and unexpected names but never a wrong shape.
  expect_mentions(error_of([&] { b.load_state_dict(state, false); }), {"proj.weight"});
  state[0].second = ag::ones({3, 4});
  b.load_state_dict(state, /*strict=*/false);
  EXPECT_EQ(b.proj->weight.at({2, 3}), 1.0f);
}

// A tiny language model whose output layer may share the embedding: the weight-tying case.
class TinyLm : public nn::Module {
 public:
  explicit TinyLm(bool tie) {
    embedding = register_module("embedding", std::make_shared<nn::Embedding>(5, 3));
    output = register_module("output", std::make_shared<nn::Linear>(3, 5));
    if (tie) output->weight = output->tie_parameter("weight", embedding->weight);
  }
  Tensor loss(const ag::IntTensor& ids) { const Tensor y = output->forward(embedding->forward(ids));
    return ag::sum(y * y); }
  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::Linear> output;
};

TEST(Module, TiedParameterIsOneTensorTrainedOnceAndSavedUnderBothNames) {
  TinyLm tied(true);
  EXPECT_TRUE(tied.output->weight.is_same(tied.embedding->weight));
  EXPECT_EQ(names_of(tied.named_parameters()), (std::vector<std::string>{"embedding.weight", "output.bias"}));
  EXPECT_EQ(tied.num_parameters(), 15 + 5);
  EXPECT_EQ(names_of(tied.state_dict()),
            (std::vector<std::string>{"embedding.weight", "output.weight", "output.bias"}));

  // The tied gradient is the sum of the two uses: the embedding's rows plus the output layer's.
  TinyLm untied(false);
  untied.load_state_dict({{"embedding.weight", tied.embedding->weight}, {"output.weight", tied.embedding->weight},
                          {"output.bias", tied.output->bias}});
  const ag::IntTensor ids({0, 2, 2, 4}, {4});
  tied.loss(ids).backward();
  untied.loss(ids).backward();
  const Tensor expected = untied.embedding->weight.grad() + untied.output->weight.grad();
  ag::testing::expect_equal_rel(tied.embedding->weight.grad(), expected, "tied gradient");

  // A round trip keeps the tie; a state that gives the two names different values is refused.
  TinyLm loaded(true);
  loaded.load_state_dict(tied.state_dict());
  EXPECT_TRUE(loaded.output->weight.is_same(loaded.embedding->weight));
  EXPECT_EQ(loaded.output->weight.to_vector(), tied.embedding->weight.to_vector());
  TinyLm independent(false);
  expect_mentions(error_of([&] { loaded.load_state_dict(independent.state_dict()); }),
                  {"embedding.weight", "output.weight", "tied"});
}

TEST(Module, TieParameterErrors) {
  TinyLm lm(false);
  auto other = std::make_shared<nn::Linear>(5, 3);  // weight (3, 5): the transpose of what is needed
  expect_mentions(error_of([&] { lm.output->tie_parameter("weight", other->weight); }),
                  {"tie_parameter", "weight", "(5, 3)", "(3, 5)"});
  expect_mentions(error_of([&] { lm.output->tie_parameter("scale", lm.embedding->weight); }),
                  {"tie_parameter", "scale"});
  expect_mentions(error_of([&] { lm.output->tie_parameter("weight", ag::ones({5, 3})); }),
                  {"tie_parameter", "weight", "parameter"});
}

TEST(Module, TrainEvalReachesEveryChild) {
  nn::Sequential seq({std::make_shared<nn::Linear>(3, 3), std::make_shared<nn::Dropout>(0.5f)});
  EXPECT_TRUE(seq[1].is_training());
  seq.eval();
  EXPECT_FALSE(seq[1].is_training());
  Tensor x = ag::ones({4, 3});
  EXPECT_EQ(seq[1].forward(x).to_vector(), x.to_vector());  // dropout off in eval
  seq.train();
  EXPECT_TRUE(seq[1].is_training());
}

TEST(Module, SummaryListsNamesShapesAndTotal) {
  Block b;
  const std::string s = b.summary();
  expect_mentions(s, {"Block", "proj.weight", "(3, 4)", "norm.bias", "total: 24 parameters in 5 tensors"});
}

TEST(Module, ZeroGradDropsEveryGradient) {
  Block b;
  Tensor y = b.norm->forward(b.proj->forward(ag::ones({2, 4}))) * b.scale;
  ag::sum(y * y).backward();
  EXPECT_TRUE(b.proj->weight.grad().defined());
  b.zero_grad();
  for (const Tensor& p : b.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Sequential, NamesByPositionAndForward) {
  auto seq = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::UnaryModule>>{
      std::make_shared<nn::Linear>(2, 4), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(4, 1)});
  EXPECT_EQ(names_of(seq->named_parameters()), (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(seq->forward(ag::ones({5, 2})).shape(), ag::Shape({5, 1}));
  ag::Generator gen(0);
  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return seq->forward(in[0]); },
                         {ag::uniform({3, 2}, -1.0f, 1.0f, gen).requires_grad_()});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Layers, GradcheckLinearEmbeddingLayerNorm) {
  ag::manual_seed(3);
  nn::Linear linear(3, 2);
  ag::Generator gen(1);
  Tensor x = ag::uniform({2, 3}, -1.0f, 1.0f, gen).requires_grad_();
  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::linear(in[0], in[1], in[2]); },
                         {x, linear.weight, linear.bias});
  EXPECT_TRUE(r.ok) << r.message;
  nn::LayerNorm norm(3);
  r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::layer_norm(in[0], {3}, in[1], in[2]); },
                    {x, norm.weight, norm.bias});
  EXPECT_TRUE(r.ok) << r.message;
  nn::Embedding emb(5, 3, 0);
  // Ids avoid the padding row: it is read in forward but, by design (as torch), gets no gradient.
  r = ag::gradcheck([&](const std::vector<Tensor>& in) { return ag::embedding(ag::IntTensor({1, 3, 4, 1}, {2, 2}), in[0], 0); },
                    {emb.weight});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Layers, TorchDefaultInitialisation) {
  ag::manual_seed(0);
  nn::Linear big(400, 300);
  const float bound = 1.0f / std::sqrt(400.0f);
  float lo = 1, hi = -1;
  for (float v : big.weight.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  EXPECT_LT(lo, -0.95f * bound);  // actually spans the range
  nn::Embedding emb(1000, 64, 3);
  double sq = 0;
  for (float v : emb.weight.to_vector()) sq += double(v) * v;
  EXPECT_NEAR(std::sqrt(sq / emb.weight.numel()), 1.0, 0.02);  // N(0, 1)
  for (int64_t j = 0; j < 64; ++j) EXPECT_EQ(emb.weight.at({3, j}), 0.0f);
  nn::LayerNorm norm(8);
  EXPECT_EQ(norm.weight.to_vector(), std::vector<float>(8, 1.0f));
  EXPECT_EQ(norm.bias.to_vector(), std::vector<float>(8, 0.0f));
}

TEST(Init, XavierAndKaimingBounds) {
  ag::Generator gen(5);
  Tensor w = ag::empty({200, 100});
  nn::init::xavier_uniform_(w, 1.0f, gen);
  const float a = std::sqrt(6.0f / 300.0f);
  for (float v : w.to_vector()) EXPECT_LE(std::fabs(v), a);
  nn::init::kaiming_normal_(w, 0.0f, "fan_in", "relu", gen);
  double sq = 0;
  for (float v : w.to_vector()) sq += double(v) * v;
  EXPECT_NEAR(std::sqrt(sq / w.numel()), std::sqrt(2.0 / 100.0), 0.005);
  nn::init::xavier_normal_(w, 1.0f, gen);
  nn::init::kaiming_uniform_(w, 0.0f, "fan_out", "relu", gen);
  for (float v : w.to_vector()) EXPECT_LE(std::fabs(v), std::sqrt(6.0f / 200.0f));
  EXPECT_FLOAT_EQ(nn::init::calculate_gain("tanh"), 5.0f / 3.0f);
  expect_mentions(error_of([&] { nn::init::kaiming_uniform_(w, 0.0f, "fan_sideways"); }), {"fan_sideways"});
  Tensor v = ag::empty({3});
  expect_mentions(error_of([&] { nn::init::xavier_uniform_(v); }), {"(3)"});
}

TEST(Init, OrthogonalRowsOrColumnsAreOrthonormal) {
  ag::Generator gen(2);
  for (const ag::Shape& shape : {ag::Shape{4, 9}, ag::Shape{12, 5}, ag::Shape{6, 6}}) {
    Tensor w = ag::empty(shape);
    nn::init::orthogonal_(w, 2.0f, gen);
    const bool wide = shape[0] <= shape[1];
    const int64_t small = wide ? shape[0] : shape[1], large = wide ? shape[1] : shape[0];
    for (int64_t i = 0; i < small; ++i)
      for (int64_t j = 0; j < small; ++j) {
        double dot = 0;
        for (int64_t k = 0; k < large; ++k)
          dot += wide ? double(w.at({i, k})) * w.at({j, k}) : double(w.at({k, i})) * w.at({k, j});
        EXPECT_NEAR(dot, i == j ? 4.0 : 0.0, 1e-5) << shape << " " << i << "," << j;  // gain 2: |v| = 2
      }
  }
}

TEST(Losses, ModulesMatchTheFunctions) {
  Tensor logits = ag::from_data({1, 2, 3, 0, -1, 4}, {2, 3});
  ag::IntTensor targets({2, -100}, {2});
  nn::CrossEntropyLoss ce(-100, 0.1f);
  EXPECT_EQ(ce(logits, targets).item(), ag::cross_entropy(logits, targets, -100, 0.1f).item());
  nn::BCEWithLogitsLoss bce;
  Tensor t = ag::from_data({1, 0, 1, 0, 1, 0}, {2, 3});
  EXPECT_EQ(bce(logits, t).item(), ag::binary_cross_entropy_with_logits(logits, t).item());
  nn::MSELoss mse(ag::Reduction::Sum);
  EXPECT_EQ(mse(logits, t).item(), ag::mse_loss(logits, t, ag::Reduction::Sum).item());
}

TEST(Layers, ShapeErrorsNameTheLayer) {
  nn::Linear linear(128, 256);
  EXPECT_EQ(error_of([&] { linear(ag::zeros({32, 200, 127})); }),
            "linear: input (32, 200, 127) does not match weight (256, 128)");
  nn::Embedding emb(10, 4);
  expect_mentions(error_of([&] { emb(ag::IntTensor({3, 12}, {2})); }), {"embedding", "12"});
  nn::LayerNorm norm(6);
  expect_mentions(error_of([&] { norm(ag::zeros({2, 5})); }), {"layer_norm", "(2, 5)"});
}

}  // namespace
