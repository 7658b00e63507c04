// Linear, Embedding, LayerNorm and the losses against PyTorch (tests/fixtures/layers.h5).
#include <gtest/gtest.h>

#include "attograd/core/core.h"
#include "attograd/nn/embedding.h"
#include "attograd/nn/layer_norm.h"
#include "attograd/nn/linear.h"
#include "tests/fixture.h"

namespace {

using ag::Tensor;
using ag::testing::expect_close;
using ag::testing::Fixture;
using ag::testing::FixtureCase;

// The attograd module's parameter names equal torch's state_dict keys, in torch's order.
void expect_torch_names(const ag::nn::Module& m, const FixtureCase& c) {
  std::vector<std::string> names;
  for (const auto& [name, _] : m.state_dict()) names.push_back(name);
  EXPECT_EQ(names, c.state_dict_keys()) << c.name();
}

// Loads torch's weights, runs forward with torch's input, backward with torch's upstream gradient,
// and compares the output and every parameter gradient.
void expect_module_matches(ag::nn::Module& m, const FixtureCase& c, const Tensor& y, const std::string& output) {
  expect_close(y, c.output(output), c.name() + " output");
  y.backward(c.upstream(output));
  for (const auto& [name, p] : m.named_parameters()) expect_close(p.grad(), c.grad(name), c.name() + " grad " + name);
}

TEST(LayersGolden, Linear) {
  const FixtureCase c = Fixture("layers.h5")["linear"];
  ag::nn::Linear linear(5, 3);
  expect_torch_names(linear, c);
  linear.load_state_dict(c.state());
  Tensor x = c.input("x").requires_grad_();
  expect_module_matches(linear, c, linear(x), "y");
  expect_close(x.grad(), c.input_grad("x"), "linear input grad");
}

TEST(LayersGolden, EmbeddingWithPaddingIdx) {
  const FixtureCase c = Fixture("layers.h5")["embedding"];
  ag::nn::Embedding emb(7, 4, c.attr_int("padding_idx"));
  expect_torch_names(emb, c);
  emb.load_state_dict(c.state());
  expect_module_matches(emb, c, emb(c.input_ints("ids")), "y");
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(emb.weight.grad().at({0, j}), 0.0f);  // the padding row
}

TEST(LayersGolden, LayerNorm) {
  const FixtureCase c = Fixture("layers.h5")["layer_norm"];
  ag::nn::LayerNorm norm(6);
  expect_torch_names(norm, c);
  norm.load_state_dict(c.state());
  Tensor x = c.input("x").requires_grad_();
  expect_module_matches(norm, c, norm(x), "y");
  expect_close(x.grad(), c.input_grad("x"), "layer_norm input grad");
}

ag::Reduction reduction_of(const std::string& name) {
  return name == "mean" ? ag::Reduction::Mean : name == "sum" ? ag::Reduction::Sum : ag::Reduction::None;
}

TEST(LayersGolden, CrossEntropyWithLabelSmoothingAndIgnoreIndex) {
  const Fixture fixture("layers.h5");
  for (const std::string smoothing : {"0.0", "0.1"})
    for (const std::string reduction : {"mean", "sum", "none"}) {
      const FixtureCase c = fixture["cross_entropy_s" + smoothing + "_" + reduction];
      Tensor logits = c.input("logits").requires_grad_();
      Tensor loss = ag::cross_entropy(logits, c.input_ints("targets"), -100, std::stof(smoothing), reduction_of(reduction));
      expect_close(loss, c.output("loss"), c.name() + " loss");
      loss.backward(c.upstream("loss"));
      expect_close(logits.grad(), c.input_grad("logits"), c.name() + " grad");
    }
}

TEST(LayersGolden, BinaryCrossEntropyWithLogits) {
  const Fixture fixture("layers.h5");
  for (const std::string reduction : {"mean", "sum", "none"}) {
    const FixtureCase c = fixture["bce_with_logits_" + reduction];
    Tensor logits = c.input("logits").requires_grad_();
    Tensor loss = ag::binary_cross_entropy_with_logits(logits, c.input("targets"), reduction_of(reduction));
    expect_close(loss, c.output("loss"), c.name() + " loss");
    loss.backward(c.upstream("loss"));
    expect_close(logits.grad(), c.input_grad("logits"), c.name() + " grad");
  }
}

TEST(LayersGolden, FixturesRecordTheirOrigin) {
  ag::H5File f(std::string(ATTOGRAD_FIXTURE_DIR) + "/layers.h5", ag::H5File::Mode::Read);
  EXPECT_FALSE(f.attr_string("/", "torch_version").empty());
  EXPECT_EQ(f.attr_string("/", "script_sha256").size(), 64u);
}

}  // namespace
