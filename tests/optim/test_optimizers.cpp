// SGD, Adam and AdamW replay torch.optim's 10-step trajectories (tests/fixtures/gen_optim.py), skip
// parameters without a gradient, keep per-parameter steps, save and restore their state, and
// decay_groups() splits a model the AdamW way.

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/reduce.h"
#include "attograd/core/random.h"
#include "attograd/nn/embedding.h"
#include "attograd/nn/layer_norm.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/sequential.h"
#include "attograd/nn/weight_decay.h"
#include "attograd/optim/adam.h"
#include "attograd/optim/sgd.h"
#include "tests/fixture.h"
#include "tests/test_util.h"

namespace {

using ag::Tensor;
using ag::NamedTensors;
using ag::optim::Optimizer;
using ag::optim::ParamGroup;
using ag::testing::error_of;
using ag::testing::expect_close;
using ag::testing::expect_mentions;

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

// Sets the gradients of `params` to exactly `grads` (undefined: no gradient) through autograd:
// d/dp sum(p * g) = g, bit for bit.
void set_grads(const std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  Tensor loss;
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].zero_grad();
    if (!grads[i].defined()) continue;
    const Tensor term = ag::sum(params[i] * grads[i]);
    loss = loss.defined() ? loss + term : term;
  }
  if (loss.defined()) loss.backward();
}

std::unique_ptr<Optimizer> optimizer_for(const ag::testing::FixtureCase& c, const Tensor& w, const Tensor& b) {
  std::vector<ParamGroup> groups{{{{"W", w}}, c.attr_double("lr0"), c.attr_double("wd0")},
                                 {{{"b", b}}, c.attr_double("lr1"), c.attr_double("wd1")}};
  const std::string type = c.file().attr_string("/" + c.name(), "optimizer");
  if (type == "SGD")
    return std::make_unique<ag::optim::SGD>(groups, c.attr_double("momentum"), c.attr_double("dampening"),
                                            c.attr_int("nesterov") != 0);
  const ag::optim::Adam::Betas betas{c.attr_double("beta1"), c.attr_double("beta2")};
  if (type == "Adam")
    return std::make_unique<ag::optim::Adam>(groups, betas, c.attr_double("eps"), c.attr_int("amsgrad") != 0);
  return std::make_unique<ag::optim::AdamW>(groups, betas, c.attr_double("eps"), c.attr_int("amsgrad") != 0);
}

class Trajectory : public ::testing::TestWithParam<std::string> {};

// The bound on |attograd - torch| after each step, in u * max |W| (tests/fixture.h): a step
// rounds each parameter a handful of times at full weight (decay, the subtraction of the update;
// the moments' roundings reach it scaled by lr), ~4, so after 10 steps D ~ 40 roundings, sqrt(D) =
// 6.3 u per side, sqrt(2) * 6.3 = 9 u for the difference of the two sides, and ~3 times that.
constexpr double kGrowth = 32;

TEST_P(Trajectory, MatchesTorch) {
  const ag::testing::Fixture fixture("optim.h5");
  const ag::testing::FixtureCase c = fixture[GetParam()];
  const Tensor w = c.input("W").requires_grad_(), b = c.input("b").requires_grad_();
  auto opt = optimizer_for(c, w, b);
  int b_steps = 0;
  for (int k = 0; k < 10; ++k) {
    const bool b_has_grad = c.has_input(fmt::format("grad_b_{}", k));
    b_steps += b_has_grad;
    const Tensor grad_b = b_has_grad ? c.input(fmt::format("grad_b_{}", k)) : Tensor();
    set_grads({w, b}, {c.input(fmt::format("grad_W_{}", k)), grad_b});
    opt->step();
    expect_close(w, c.output(fmt::format("W_{}", k)), fmt::format("{} W step {}", GetParam(), k), kGrowth);
    expect_close(b, c.output(fmt::format("b_{}", k)), fmt::format("{} b step {}", GetParam(), k), kGrowth);
  }
  EXPECT_EQ(b_steps, 9);  // the fixture withholds b's gradient once
  EXPECT_EQ(opt->state().at("W").step, 10);
  EXPECT_EQ(opt->state().at("b").step, b_steps);
  EXPECT_EQ(opt->step_count(), 10);
}

INSTANTIATE_TEST_SUITE_P(Torch, Trajectory,
                         ::testing::Values("sgd_momentum", "sgd_nesterov_wd", "adam_wd", "adam_amsgrad", "adamw_wd",
                                           "adamw_groups"));

TEST(SGD, HandComputedMomentumSteps) {
  // lr 0.5, momentum 0.5, dampening 0.5, wd 0.25; p = 2, g = 1 then 3.
  // step 1: d = 1 + 0.5 = 1.5, buf = 1.5, p = 2 - 0.75 = 1.25
  // step 2: d = 3 + 0.3125 = 3.3125, buf = 0.75 + 0.5 * 3.3125 = 2.40625, p = 1.25 - 1.203125 = 0.046875
  const Tensor p = ag::full({1}, 2.0f).requires_grad_();
  ag::optim::SGD opt({{"p", p}}, 0.5, 0.5, 0.5, 0.25);
  set_grads({p}, {ag::full({1}, 1.0f)});
  opt.step();
  EXPECT_FLOAT_EQ(p.item(), 1.25f);
  set_grads({p}, {ag::full({1}, 3.0f)});
  opt.step();
  EXPECT_FLOAT_EQ(p.item(), 0.046875f);
  EXPECT_FLOAT_EQ(opt.state().at("p").tensors.at("momentum_buffer").item(), 2.40625f);
}

TEST(Adam, FirstStepMovesEachElementByLr) {
  // After one step m / sqrt(v) (bias-corrected) = sign(g), so p moves by lr (eps aside).
  const Tensor p = ag::from_data({1, -2, 3}, {3}).requires_grad_();
  ag::optim::Adam opt({{"p", p}}, 0.1, {0.9, 0.999}, 0.0);
  set_grads({p}, {ag::from_data({0.5f, -4, 1e-3f}, {3})});
  opt.step();
  const std::vector<float> got = p.to_vector();
  EXPECT_FLOAT_EQ(got[0], 0.9f);
  EXPECT_FLOAT_EQ(got[1], -1.9f);
  EXPECT_FLOAT_EQ(got[2], 2.9f);
}

TEST(Optimizer, SkipsParametersWithoutGradient) {
  const Tensor a = ag::ones({2}).requires_grad_(), b = ag::ones({2}).requires_grad_();
  ag::optim::Adam opt({{"a", a}, {"b", b}}, 0.1);
  set_grads({a, b}, {ag::ones({2}), Tensor()});
  opt.step();
  EXPECT_EQ(opt.state().count("b"), 0u);
  EXPECT_EQ(opt.state().at("a").step, 1);
  EXPECT_EQ(b.to_vector(), std::vector<float>({1, 1}));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optimizer, StepWorksInGradModeAndInvalidatesSavedCopies) {
  const Tensor p = ag::ones({3}).requires_grad_();
  ag::optim::SGD opt({{"p", p}}, 0.1);
  set_grads({p}, {ag::ones({3})});
  const Tensor y = ag::sum(p * p);  // saves p for backward
  opt.step();                       // in place, under its own NoGradGuard
  expect_mentions(error_of([&] { y.backward(); }), {"mul", "modified in place"});
}

TEST(Optimizer, RejectsBadHyperParameters) {
  const Tensor p = ag::ones({1}).requires_grad_();
  expect_mentions(error_of([&] { ag::optim::Adam({{"p", p}}, 1e-3, {1.0, 0.999}); }), {"Adam", "betas"});
  expect_mentions(error_of([&] { ag::optim::SGD({{"p", p}}, 0.1, 0.0, 0.0, 0.0, true); }), {"SGD", "nesterov"});
  expect_mentions(error_of([&] { ag::optim::SGD({{"p", p}}, -1.0); }), {"negative learning rate"});
  expect_mentions(error_of([&] { ag::optim::SGD(std::vector<ParamGroup>{{{{"p", p}}, 0.1}, {{{"p", p}}, 0.1}}); }),
                  {"'p'", "twice"});
}

TEST(Optimizer, StateDictRoundTripContinuesIdentically) {
  ag::Generator gen(3);
  const Tensor w0 = ag::randn({4, 3}, gen);
  std::vector<Tensor> grads;
  for (int k = 0; k < 5; ++k) grads.push_back(ag::randn({4, 3}, gen));

  const Tensor a = w0.clone().detach().requires_grad_();
  ag::optim::AdamW first({{"w", a}}, 0.01, {0.9, 0.99}, 1e-8, 0.1, /*amsgrad=*/true);
  for (int k = 0; k < 3; ++k) set_grads({a}, {grads[k]}), first.step();

  const Tensor b = a.clone().detach().requires_grad_();
  ag::optim::AdamW second({{"w", b}}, 0.5);  // other lr and weight decay: load_state_dict restores them
  second.load_state_dict(first.state_dict());
  EXPECT_EQ(second.param_groups()[0].lr, 0.01);
  EXPECT_EQ(second.param_groups()[0].weight_decay, 0.1);
  EXPECT_EQ(second.state().at("w").step, 3);
  EXPECT_FALSE(second.state().at("w").tensors.at("exp_avg").is_same(first.state().at("w").tensors.at("exp_avg")));
  for (int k = 3; k < 5; ++k) {
    set_grads({a}, {grads[k]}), first.step();
    set_grads({b}, {grads[k]}), second.step();
  }
  EXPECT_TRUE(same_bits(a, b));
}

TEST(Optimizer, LoadStateDictRefusesForeignState) {
  const Tensor w = ag::ones({2, 2}).requires_grad_();
  ag::optim::Adam adam({{"w", w}});
  set_grads({w}, {ag::ones({2, 2})});
  adam.step();
  ag::optim::OptimizerState state = adam.state_dict();

  ag::optim::SGD sgd({{"w", w}}, 0.1);
  expect_mentions(error_of([&] { sgd.load_state_dict(state); }), {"SGD", "Adam"});

  const Tensor other = ag::ones({2, 2}).requires_grad_();
  ag::optim::Adam renamed({{"v", other}});
  expect_mentions(error_of([&] { renamed.load_state_dict(state); }), {"group 0", "w", "v"});

  ag::optim::OptimizerState misshaped = state;
  misshaped.tensors["exp_avg"]["w"] = ag::zeros({4});
  expect_mentions(error_of([&] { adam.load_state_dict(misshaped); }), {"exp_avg", "'w'", "(4)", "(2, 2)"});

  ag::optim::OptimizerState unknown = state;
  unknown.hyper_parameters["momentum"] = 0.9;
  expect_mentions(error_of([&] { adam.load_state_dict(unknown); }), {"momentum"});
}

// A model with every kind of parameter decay_groups() tells apart.
class Mixed : public ag::nn::Module {
 public:
  Mixed() {
    emb = register_module("emb", std::make_shared<ag::nn::Embedding>(5, 3));
    proj = register_module("proj", std::make_shared<ag::nn::Linear>(3, 4));
    norm = register_module("norm", std::make_shared<ag::nn::LayerNorm>(4));
    block = register_module("block", std::make_shared<ag::nn::Sequential>());
    block->push_back(std::make_shared<ag::nn::Linear>(4, 4, false));
    block->push_back(std::make_shared<ag::nn::LayerNorm>(4));
  }
  std::shared_ptr<ag::nn::Embedding> emb;
  std::shared_ptr<ag::nn::Linear> proj;
  std::shared_ptr<ag::nn::LayerNorm> norm;
  std::shared_ptr<ag::nn::Sequential> block;
};

std::set<std::string> names_of(const ParamGroup& g) {
  std::set<std::string> out;
  for (const auto& [name, _] : g.params) out.insert(name);
  return out;
}

TEST(DecayGroups, SplitsWeightsFromBiasesNormsAndEmbeddings) {
  Mixed model;
  const std::vector<ParamGroup> groups = ag::optim::decay_groups(model.named_parameters(), ag::nn::no_weight_decay(model), 0.01, 0.1);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(names_of(groups[0]), (std::set<std::string>{"proj.weight", "block.0.weight"}));
  EXPECT_EQ(names_of(groups[1]), (std::set<std::string>{"emb.weight", "proj.bias", "norm.weight", "norm.bias",
                                                        "block.1.weight", "block.1.bias"}));
  EXPECT_EQ(groups[0].weight_decay, 0.1);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_EQ(groups[0].lr, 0.01);
  EXPECT_EQ(groups[1].lr, 0.01);
}

TEST(DecayGroups, RefusesNamesThatAreNotParameters) {
  Mixed model;
  std::set<std::string> no_decay = ag::nn::no_weight_decay(model);
  no_decay.insert("proj.wieght");
  expect_mentions(error_of([&] { ag::optim::decay_groups(model.named_parameters(), no_decay, 0.01, 0.1); }),
                  {"decay_groups", "proj.wieght"});
  expect_mentions(error_of([&] { ag::optim::decay_groups({}, {}, 0.01, 0.1); }), {"decay_groups", "no parameters"});
}

TEST(AdamW, ZeroGradientOnlyDecaysTheDecayGroup) {
  Mixed model;
  const double lr = 0.01, wd = 0.1;
  ag::optim::AdamW opt(ag::optim::decay_groups(model.named_parameters(), ag::nn::no_weight_decay(model), lr, wd));
  NamedTensors before;
  for (const auto& [name, p] : model.named_parameters()) before.emplace_back(name, p.clone().detach());
  std::vector<Tensor> params, zeros;
  for (const auto& [_, p] : model.named_parameters()) params.push_back(p), zeros.push_back(ag::zeros_like(p));
  set_grads(params, zeros);
  opt.step();
  const std::set<std::string> decayed = names_of(opt.param_groups()[0]);
  const auto after = model.named_parameters();
  for (size_t i = 0; i < after.size(); ++i) {
    const std::vector<float> old = before[i].second.to_vector(), now = after[i].second.to_vector();
    const float keep = static_cast<float>(1 - lr * wd);
    for (size_t j = 0; j < old.size(); ++j) {
      if (decayed.count(after[i].first)) EXPECT_FLOAT_EQ(now[j], old[j] * keep) << after[i].first;
      else EXPECT_EQ(now[j], old[j]) << after[i].first;
    }
  }
}

}  // namespace
