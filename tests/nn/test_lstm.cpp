// LSTM: golden tests against torch.nn.LSTM / LSTMCell (fixtures/lstm.h5), gradchecks of the fused
// op and of the modules, padded batches equal to one sequence at a time, pads giving exact zeros,
// errors, dropout between layers, determinism.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gradcheck.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/lstm.h"
#include "attograd/core/ops/reduce.h"
#include "attograd/core/ops/shape_ops.h"
#include "attograd/core/random.h"
#include "attograd/core/threads.h"
#include "attograd/nn/lstm.h"
#include "tests/fixture.h"
#include "tests/test_util.h"

namespace {

using ag::IntTensor;
using ag::Shape;
using ag::Tensor;
using ag::testing::error_of;
using ag::testing::expect_close;
using ag::testing::expect_mentions;
using ag::testing::random_leaf;
using ag::testing::names_of;

// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = ag::get_num_threads();
  ~ThreadCountGuard() { ag::set_num_threads(saved); }
};

// All of an LSTM's outputs flattened into one tensor (for gradcheck).
Tensor flat(const std::vector<Tensor>& parts) {
  std::vector<Tensor> flats;
  for (const Tensor& t : parts) flats.push_back(t.reshape({-1}));
  return ag::concat(flats, 0);
}

// Relative 1e-5 ("equal" between computations of different shapes), with a small floor near 0.
void expect_equal_values(const float* a, const float* b, int64_t n, const std::string& what) {
  for (int64_t i = 0; i < n; ++i)
    ASSERT_LE(std::fabs(a[i] - b[i]), 1e-5f * std::max(std::fabs(b[i]), 1e-2f)) << what << " element " << i;
}

// ---- golden tests against torch ------------------------------------------------------------------

void expect_param_grads(const ag::testing::FixtureCase& c, const ag::nn::Module& m) {
  for (const auto& [name, p] : m.named_parameters()) expect_close(p.grad(), c.grad(name), c.name() + " d" + name);
}

TEST(LSTMGolden, MatchesTorch) {
  ag::testing::Fixture fixture("lstm.h5");
  const std::vector<std::string> cases = {"lstm_1layer",
                                          "lstm_bidirectional",
                                          "lstm_2layer",
                                          "lstm_2layer_bidirectional",
                                          "lstm_states",
                                          "lstm_lengths",
                                          "lstm_lengths_bidirectional",
                                          "lstm_lengths_2layer_bidirectional",
                                          "lstm_lengths_states"};
  for (const std::string& name : cases) {
    SCOPED_TRACE(name);
    const ag::testing::FixtureCase c = fixture[name];
    ag::nn::LSTM lstm(c.attr_int("input_size"), c.attr_int("hidden_size"), c.attr_int("num_layers"),
                      c.attr_int("bidirectional") != 0);
    EXPECT_EQ(names_of(lstm.named_parameters()), c.state_dict_keys());
    lstm.load_state_dict(c.state());
    const Tensor x = c.input("x").requires_grad_();
    const IntTensor lengths = c.has_input("lengths") ? c.input_ints("lengths") : IntTensor();
    const Tensor h0 = c.has_input("h0") ? c.input("h0").requires_grad_() : Tensor();
    const Tensor c0 = c.has_input("c0") ? c.input("c0").requires_grad_() : Tensor();
    const ag::nn::LSTMOutput out = lstm(x, lengths, h0, c0);
    expect_close(out.output, c.output("output"), name + " output");
    expect_close(out.h_n, c.output("h_n"), name + " h_n");
    expect_close(out.c_n, c.output("c_n"), name + " c_n");
    const Tensor loss = ag::sum(out.output * c.upstream("output")) + ag::sum(out.h_n * c.upstream("h_n")) +
                        ag::sum(out.c_n * c.upstream("c_n"));
    loss.backward();
    expect_param_grads(c, lstm);
    expect_close(x.grad(), c.input_grad("x"), name + " dx");
    if (h0.defined()) expect_close(h0.grad(), c.input_grad("h0"), name + " dh0");
    if (c0.defined()) expect_close(c0.grad(), c.input_grad("c0"), name + " dc0");
  }
}

TEST(LSTMGolden, CellMatchesTorch) {
  ag::testing::Fixture fixture("lstm.h5");
  for (const std::string name : {"lstm_cell", "lstm_cell_no_bias"}) {
    SCOPED_TRACE(name);
    const ag::testing::FixtureCase c = fixture[name];
    ag::nn::LSTMCell cell(c.attr_int("input_size"), c.attr_int("hidden_size"), c.attr_int("bias") != 0);
    EXPECT_EQ(names_of(cell.named_parameters()), c.state_dict_keys());
    cell.load_state_dict(c.state());
    const Tensor x = c.input("x").requires_grad_(), h = c.input("h").requires_grad_();
    const Tensor cs = c.input("c").requires_grad_();
    const auto [h1, c1] = cell(x, h, cs);
    expect_close(h1, c.output("h"), name + " h'");
    expect_close(c1, c.output("c"), name + " c'");
    (ag::sum(h1 * c.upstream("h")) + ag::sum(c1 * c.upstream("c"))).backward();
    expect_param_grads(c, cell);
    expect_close(x.grad(), c.input_grad("x"), name + " dx");
    expect_close(h.grad(), c.input_grad("h"), name + " dh");
    expect_close(cs.grad(), c.input_grad("c"), name + " dc");
  }
}

// ---- gradchecks ---------------------------------------------------------------------------------

struct OpInputs {
  Tensor x, h0, c0, w_ih, w_hh, b_ih, b_hh;
};

// B = 2, T = 3, I = 3, H = 2; weights small enough that the gates stay away from saturation.
OpInputs op_inputs(uint64_t seed) {
  return {random_leaf({2, 3, 3}, seed), random_leaf({2, 2}, seed + 1, 0.5f), random_leaf({2, 2}, seed + 2, 0.5f),
          random_leaf({8, 3}, seed + 3, 0.5f), random_leaf({8, 2}, seed + 4, 0.5f), random_leaf({8}, seed + 5, 0.3f),
          random_leaf({8}, seed + 6, 0.3f)};
}

TEST(LSTMLayerOp, Gradcheck) {
  const OpInputs in = op_inputs(10);
  const IntTensor lengths({3, 2}, {2});
  const IntTensor lengths_rev({1, 3}, {2});
  for (bool reverse : {false, true}) {
    for (const IntTensor* len : {static_cast<const IntTensor*>(nullptr), &lengths, &lengths_rev}) {
      for (bool states : {false, true}) {
        auto f = [&](const std::vector<Tensor>& v) {
          const ag::LSTMLayerOutput r = ag::lstm_layer(v[0], len ? *len : IntTensor(), states ? v[1] : Tensor(),
                                                       states ? v[2] : Tensor(), v[3], v[4], v[5], v[6], reverse);
          return flat({r.output, r.h_n, r.c_n});
        };
        const auto r = ag::gradcheck(f, {in.x, in.h0, in.c0, in.w_ih, in.w_hh, in.b_ih, in.b_hh});
        EXPECT_TRUE(r.ok) << "reverse " << reverse << " lengths " << (len != nullptr) << " states " << states << ": "
                          << r.message;
      }
    }
  }
}

TEST(LSTMLayerOp, GradcheckWithoutBiasesAndSingleOutputs) {
  const OpInputs in = op_inputs(20);
  // No biases; and each output alone, so that the others' gradients arrive undefined.
  for (int which = 0; which < 3; ++which) {
    auto f = [&](const std::vector<Tensor>& v) {
      const ag::LSTMLayerOutput r = ag::lstm_layer(v[0], IntTensor({3, 1}, {2}), v[1], v[2], v[3], v[4], {}, {});
      return which == 0 ? r.output : which == 1 ? r.h_n : r.c_n;
    };
    const auto r = ag::gradcheck(f, {in.x, in.h0, in.c0, in.w_ih, in.w_hh});
    EXPECT_TRUE(r.ok) << "output " << which << ": " << r.message;
  }
}

std::vector<Tensor> with_params(std::vector<Tensor> first, const ag::nn::Module& m) {
  for (const Tensor& p : m.parameters()) first.push_back(p);
  return first;
}

TEST(LSTMModule, Gradcheck) {
  struct Case {
    int64_t layers;
    bool bidirectional, lengths, states;
  };
  const std::vector<Case> cases = {{1, false, false, false}, {1, true, false, false}, {1, true, true, false},
                                   {2, false, false, false}, {2, true, true, false},  {2, true, true, true}};
  for (const Case& k : cases) {
    ag::manual_seed(31);
    ag::nn::LSTM lstm(3, 2, k.layers, k.bidirectional);
    const int64_t D = k.bidirectional ? 2 : 1;
    const Tensor x = random_leaf({2, 3, 3}, 32);
    const Tensor h0 = random_leaf({k.layers * D, 2, 2}, 33, 0.5f), c0 = random_leaf({k.layers * D, 2, 2}, 34, 0.5f);
    const IntTensor lengths = k.lengths ? IntTensor({2, 3}, {2}) : IntTensor();
    auto f = [&](const std::vector<Tensor>& v) {
      const ag::nn::LSTMOutput r = lstm(v[0], lengths, k.states ? v[1] : Tensor(), k.states ? v[2] : Tensor());
      return flat({r.output, r.h_n, r.c_n});
    };
    const auto r = ag::gradcheck(f, with_params({x, h0, c0}, lstm));
    EXPECT_TRUE(r.ok) << "layers " << k.layers << " bidirectional " << k.bidirectional << " lengths " << k.lengths
                      << " states " << k.states << ": " << r.message;
  }
}

TEST(LSTMModule, CellGradcheck) {
  for (bool bias : {true, false}) {
    ag::manual_seed(41);
    ag::nn::LSTMCell cell(3, 2, bias);
    const Tensor x = random_leaf({2, 3}, 42), h = random_leaf({2, 2}, 43, 0.5f), c = random_leaf({2, 2}, 44, 0.5f);
    auto f = [&](const std::vector<Tensor>& v) {
      const auto [h1, c1] = cell(v[0], v[1], v[2]);
      return flat({h1, c1});
    };
    const auto r = ag::gradcheck(f, with_params({x, h, c}, cell));
    EXPECT_TRUE(r.ok) << "bias " << bias << ": " << r.message;
    auto g = [&](const std::vector<Tensor>& v) {  // no states: zeros
      const auto [h1, c1] = cell(v[0]);
      return flat({h1, c1});
    };
    const auto r2 = ag::gradcheck(g, with_params({x}, cell));
    EXPECT_TRUE(r2.ok) << "bias " << bias << ", no states: " << r2.message;
  }
}

// ---- padded batches -----------------------------------------------------------------------------

// Every sequence of a padded batch gives what running it alone (B = 1, T = L_b) gives: its outputs at
// the first L_b steps, h_n and c_n; the outputs at pad positions are exactly 0. Sizes large enough
// that the early steps' rows are split across threads (the late ones, with few rows left, are not).
void check_padded_equals_alone(int64_t layers, bool bidirectional, int threads) {
  ThreadCountGuard guard;
  ag::set_num_threads(threads);
  ag::manual_seed(51);
  const int64_t B = 20, T = 9, I = 6, H = 48, D = bidirectional ? 2 : 1;
  ag::nn::LSTM lstm(I, H, layers, bidirectional);
  const std::vector<int64_t> len = {5, 9, 1, 7, 9, 3, 6, 8, 2, 9, 4, 9, 6, 1, 7, 9, 5, 3, 8, 9};
  const Tensor x = random_leaf({B, T, I}, 52);
  const ag::nn::LSTMOutput batch = lstm(x, IntTensor(len, {B}));
  for (int64_t b = 0; b < B; ++b) {
    const std::string what = "sequence " + std::to_string(b) + " (threads " + std::to_string(threads) + ")";
    const Tensor xb = ag::narrow(ag::narrow(x, 0, b, 1), 1, 0, len[b]);
    const ag::nn::LSTMOutput alone = lstm(xb);
    const Tensor out_b = ag::narrow(batch.output, 0, b, 1);
    expect_equal_values(ag::narrow(out_b, 1, 0, len[b]).data(), alone.output.data(), len[b] * D * H, what + " output");
    for (int64_t t = len[b]; t < T; ++t)
      for (int64_t j = 0; j < D * H; ++j) ASSERT_EQ(out_b.at({0, t, j}), 0.0f) << what << " pad t " << t;
    expect_equal_values(ag::narrow(batch.h_n, 1, b, 1).data(), alone.h_n.data(), layers * D * H, what + " h_n");
    expect_equal_values(ag::narrow(batch.c_n, 1, b, 1).data(), alone.c_n.data(), layers * D * H, what + " c_n");
  }
}

TEST(LSTMPadding, PaddedBatchEqualsOneSequenceAtATime) {
  for (int threads : {1, 2}) {
    check_padded_equals_alone(1, false, threads);
    check_padded_equals_alone(1, true, threads);
    check_padded_equals_alone(2, true, threads);
  }
}

TEST(LSTMPadding, PadPositionsGetNoGradientAndDoNotMatter) {
  ag::manual_seed(61);
  ag::nn::LSTM lstm(4, 5, 2, true);
  const std::vector<int64_t> len = {3, 6, 1};
  const IntTensor lengths(len, {3});
  const Tensor x = random_leaf({3, 6, 4}, 62);
  const ag::nn::LSTMOutput a = lstm(x, lengths);
  (ag::sum(a.output * random_leaf({3, 6, 10}, 63)) + ag::sum(a.h_n) + ag::sum(a.c_n)).backward();
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = len[b]; t < 6; ++t)
      for (int64_t j = 0; j < 4; ++j) ASSERT_EQ(x.grad().at({b, t, j}), 0.0f) << "b " << b << " t " << t;
  // Other values at the pads change nothing.
  Tensor x2 = x.detach().clone();
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = len[b]; t < 6; ++t)
      for (int64_t j = 0; j < 4; ++j) x2.set({b, t, j}, 100.0f + static_cast<float>(j));
  const ag::nn::LSTMOutput b2 = lstm(x2, lengths);
  EXPECT_EQ(a.output.to_vector(), b2.output.to_vector());
  EXPECT_EQ(a.h_n.to_vector(), b2.h_n.to_vector());
  EXPECT_EQ(a.c_n.to_vector(), b2.c_n.to_vector());
}

TEST(LSTMPadding, FullLengthsEqualNoLengths) {
  ag::manual_seed(71);
  ag::nn::LSTM lstm(4, 3, 1, true);
  const Tensor x = random_leaf({2, 5, 4}, 72);
  const ag::nn::LSTMOutput a = lstm(x), b = lstm(x, IntTensor::full({2}, 5));
  EXPECT_EQ(a.output.to_vector(), b.output.to_vector());
  EXPECT_EQ(a.h_n.to_vector(), b.h_n.to_vector());
}

// ---- modules --------------------------------------------------------------------------------------

TEST(LSTMModule, NamesShapesAndInit) {
  ag::nn::LSTM lstm(5, 4, 2, true);
  EXPECT_EQ(lstm.type_name(), "LSTM");
  const std::vector<std::string> expected = {
      "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse",
      "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
  EXPECT_EQ(names_of(lstm.named_parameters()), expected);
  EXPECT_EQ(lstm.weights[2].weight_ih.shape(), Shape({16, 8}));  // layer 1 reads both directions
  EXPECT_EQ(lstm.weights[1].weight_hh.shape(), Shape({16, 4}));
  for (const Tensor& p : lstm.parameters())
    for (float v : p.to_vector()) ASSERT_LE(std::fabs(v), 0.5f);  // U(-1/sqrt(4), 1/sqrt(4))
  const ag::nn::LSTMOutput out = lstm(ag::ones({3, 7, 5}));
  EXPECT_EQ(out.output.shape(), Shape({3, 7, 8}));
  EXPECT_EQ(out.h_n.shape(), Shape({4, 3, 4}));
  EXPECT_EQ(out.c_n.shape(), Shape({4, 3, 4}));
  ag::nn::LSTMCell cell(5, 4, false);
  EXPECT_EQ(names_of(cell.named_parameters()), std::vector<std::string>({"weight_ih", "weight_hh"}));
}

TEST(LSTMModule, ReverseHalfOfABidirectionalOutputIsTheReversedSequence) {
  // The reverse direction at t equals a forward LSTM (same weights) over the time-reversed input.
  ag::manual_seed(81);
  ag::nn::LSTM bi(3, 4, 1, true), fwd(3, 4, 1, false);
  const auto& w = bi.weights[1];
  fwd.load_state_dict({{"weight_ih_l0", w.weight_ih}, {"weight_hh_l0", w.weight_hh}, {"bias_ih_l0", w.bias_ih},
                       {"bias_hh_l0", w.bias_hh}});
  const Tensor x = random_leaf({2, 5, 3}, 82);
  std::vector<Tensor> steps;
  for (int64_t t = 4; t >= 0; --t) steps.push_back(ag::narrow(x, 1, t, 1));
  const ag::nn::LSTMOutput a = bi(x), b = fwd(ag::concat(steps, 1));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t t = 0; t < 5; ++t)
      for (int64_t j = 0; j < 4; ++j) ASSERT_NEAR(a.output.at({i, t, 4 + j}), b.output.at({i, 4 - t, j}), 1e-6);
  expect_equal_values(ag::narrow(a.h_n, 0, 1, 1).data(), b.h_n.data(), 8, "h_n");
}

TEST(LSTMModule, DropoutBetweenLayersOnlyInTraining) {
  ag::manual_seed(91);
  ag::Generator gen(5);
  ag::nn::LSTM with_dropout(4, 6, 2, false, 0.5f, &gen);
  ag::nn::LSTM without(4, 6, 2, false, 0.0f);
  without.load_state_dict(with_dropout.state_dict());
  const Tensor x = random_leaf({3, 5, 4}, 92);
  const std::vector<float> reference = without(x).output.to_vector();
  EXPECT_NE(with_dropout(x).output.to_vector(), reference);  // train mode: dropout on layer 0's output
  const uint64_t drawn = gen.offset();
  EXPECT_GT(drawn, 0u);
  EXPECT_NE(with_dropout(x).output.to_vector(), with_dropout(x).output.to_vector());  // fresh masks
  with_dropout.eval();
  EXPECT_EQ(with_dropout(x).output.to_vector(), reference);
  const uint64_t after = gen.offset();
  with_dropout(x);
  EXPECT_EQ(gen.offset(), after);  // eval draws nothing
  // One layer: nothing to drop (torch applies dropout between layers only).
  ag::nn::LSTM one(4, 6, 1, false, 0.5f, &gen);
  ag::nn::LSTM one_plain(4, 6, 1, false);
  one_plain.load_state_dict(one.state_dict());
  EXPECT_EQ(one(x).output.to_vector(), one_plain(x).output.to_vector());
}

TEST(LSTMModule, DeterministicRunToRun) {
  ThreadCountGuard guard;
  for (int threads : {1, 2}) {
    ag::set_num_threads(threads);
    ag::manual_seed(101);
    ag::nn::LSTM lstm(12, 48, 2, true);  // B = 24, H = 48: a step's rows are split across threads
    const Tensor x = random_leaf({24, 6, 12}, 102);
    const IntTensor lengths({6, 4, 5, 6, 1, 6, 3, 6, 6, 2, 5, 5, 6, 6, 4, 4, 6, 3, 6, 2, 6, 6, 5, 6}, {24});
    std::vector<std::vector<float>> runs;
    for (int run = 0; run < 2; ++run) {
      lstm.zero_grad();
      x.zero_grad();
      const ag::nn::LSTMOutput out = lstm(x, lengths);
      (ag::sum(out.output * out.output) + ag::sum(out.h_n) + ag::sum(out.c_n)).backward();
      std::vector<float> all = out.output.to_vector();
      for (const Tensor& t : with_params({x}, lstm)) {
        const std::vector<float> v = t.grad().to_vector();
        all.insert(all.end(), v.begin(), v.end());
      }
      runs.push_back(all);
    }
    EXPECT_EQ(runs[0], runs[1]) << "threads " << threads;
  }
}

TEST(LSTMModule, BackwardTwiceWithRetainGraphGivesTheSameGradients) {
  ag::manual_seed(111);
  ag::nn::LSTM lstm(3, 4, 1, true);
  const Tensor x = random_leaf({2, 5, 3}, 112);
  const ag::nn::LSTMOutput out = lstm(x, IntTensor({5, 3}, {2}));
  const Tensor loss = ag::sum(out.output) + ag::sum(out.c_n);
  loss.backward({}, /*retain_graph=*/true);
  const std::vector<float> first = lstm.weights[0].weight_hh.grad().to_vector();
  lstm.zero_grad();
  loss.backward();
  EXPECT_EQ(lstm.weights[0].weight_hh.grad().to_vector(), first);
}

TEST(LSTMModule, NoGradRecordsNothing) {
  ag::nn::LSTM lstm(3, 4, 2, true);
  ag::NoGradGuard no_grad;
  const ag::nn::LSTMOutput out = lstm(ag::ones({2, 5, 3}));
  EXPECT_FALSE(out.output.requires_grad());
  EXPECT_EQ(out.h_n.grad_fn(), nullptr);
}

TEST(LSTMModule, GraphIsFreedAfterBackward) {
  ag::manual_seed(121);
  ag::nn::LSTM lstm(3, 4, 2, true);
  const int64_t nodes_before = ag::Node::live_count();
  {
    const ag::nn::LSTMOutput out = lstm(random_leaf({2, 50, 3}, 122));
    (ag::sum(out.output) + ag::sum(out.h_n)).backward();
  }
  EXPECT_EQ(ag::Node::live_count(), nodes_before);
}

// ---- errors ---------------------------------------------------------------------------------------

TEST(LSTMErrors, NameTheProblem) {
  ag::nn::LSTM lstm(128, 8, 2, true);
  expect_mentions(error_of([&] { lstm(ag::zeros({32, 200, 127})); }),
                  {"LSTM", "input (32, 200, 127)", "input_size 128"});
  expect_mentions(error_of([&] { lstm(ag::zeros({32, 128})); }), {"LSTM", "(32, 128)"});
  const Tensor x = ag::zeros({3, 5, 128});
  expect_mentions(error_of([&] { lstm(x, IntTensor({5, 6, 2}, {3})); }), {"LSTM", "lengths[1] = 6", "[1, 5]"});
  expect_mentions(error_of([&] { lstm(x, IntTensor({5, 0, 2}, {3})); }), {"lengths[1] = 0"});
  expect_mentions(error_of([&] { lstm(x, IntTensor({5, 2}, {2})); }), {"lengths (2)", "(3, 5, 128)"});
  expect_mentions(error_of([&] { lstm(x, {}, ag::zeros({2, 3, 8})); }), {"h0 (2, 3, 8)", "(4, 3, 8)"});
  expect_mentions(error_of([&] { lstm(x, {}, {}, ag::zeros({4, 2, 8})); }), {"c0 (4, 2, 8)", "(4, 3, 8)"});
  expect_mentions(error_of([] { ag::nn::LSTM(4, 0); }), {"LSTM", "positive"});
  expect_mentions(error_of([] { ag::nn::LSTM(4, 3, 2, false, 1.5f); }), {"LSTM", "dropout", "1.5"});

  ag::nn::LSTMCell cell(4, 3);
  expect_mentions(error_of([&] { cell(ag::zeros({2, 5})); }), {"LSTMCell", "(2, 5)", "input_size 4"});
  expect_mentions(error_of([&] { cell(ag::zeros({2, 4}), ag::zeros({3, 3})); }), {"LSTMCell", "h (3, 3)", "(2, 3)"});

  const Tensor w_ih = ag::zeros({8, 3}), w_hh = ag::zeros({8, 2});
  expect_mentions(error_of([&] { ag::lstm_layer(ag::zeros({2, 4, 5}), {}, {}, {}, w_ih, w_hh, {}, {}); }),
                  {"lstm_layer", "(2, 4, 5)", "(8, 3)"});
  expect_mentions(error_of([&] { ag::lstm_layer(ag::zeros({2, 4, 3}), {}, {}, {}, w_ih, ag::zeros({8, 3}), {}, {}); }),
                  {"lstm_layer", "weight_hh (8, 3)", "(8, 2)"});
  expect_mentions(error_of([&] { ag::lstm_layer(ag::zeros({2, 4, 3}), {}, {}, {}, ag::zeros({7, 3}), w_hh, {}, {}); }),
                  {"lstm_layer", "weight_ih", "(7, 3)"});
  expect_mentions(
      error_of([&] { ag::lstm_layer(ag::zeros({2, 4, 3}), {}, {}, {}, w_ih, w_hh, ag::zeros({6}), {}); }),
      {"lstm_layer", "bias_ih (6)"});
  expect_mentions(
      error_of([&] { ag::lstm_layer(ag::zeros({2, 4, 3}), IntTensor({4, 5}, {2}), {}, {}, w_ih, w_hh, {}, {}); }),
      {"lstm_layer", "lengths[1] = 5", "[1, 4]"});
  expect_mentions(error_of([&] { ag::lstm_layer(ag::zeros({2, 0, 3}), {}, {}, {}, w_ih, w_hh, {}, {}); }),
                  {"lstm_layer", "(2, 0, 3)"});
}

}  // namespace

namespace {

// The fused bidirectional layer equals lstm_layer forward plus lstm_layer reverse: outputs, states
// and every gradient, with lengths and initial states, at 1 and 2 threads.
TEST(LSTMBidirectionalOp, EqualsTwoSingleDirectionCalls) {
  const int saved_threads = ag::get_num_threads();
  for (int threads : {1, 2}) {
    ag::set_num_threads(threads);
    const int64_t B = 3, T = 5, I = 4, H = 3;
    std::vector<ag::Tensor> leaves;
    auto leaf = [&](ag::Shape s, uint64_t seed) {
      leaves.push_back(ag::testing::random_leaf(std::move(s), seed, 0.5f));
      return leaves.back();
    };
    const ag::Tensor x = leaf({B, T, I}, 1);
    const ag::LSTMWeights f{leaf({4 * H, I}, 2), leaf({4 * H, H}, 3), leaf({4 * H}, 4), leaf({4 * H}, 5)};
    const ag::LSTMWeights r{leaf({4 * H, I}, 6), leaf({4 * H, H}, 7), leaf({4 * H}, 8), leaf({4 * H}, 9)};
    const ag::Tensor h0f = leaf({B, H}, 10), c0f = leaf({B, H}, 11), h0r = leaf({B, H}, 12), c0r = leaf({B, H}, 13);
    const ag::IntTensor lengths({5, 2, 4}, {B});
    // Each output weighted differently, so every gradient path matters.
    auto loss_of = [](const std::vector<ag::Tensor>& outs) {
      ag::Tensor total = ag::scalar(0.0f);
      for (size_t k = 0; k < outs.size(); ++k) total = total + ag::sum(outs[k] * outs[k]) * (1.0f + 0.5f * k);
      return total;
    };
    const ag::BidirectionalLSTMOutput both = ag::lstm_bidirectional_layer(x, lengths, h0f, c0f, h0r, c0r, f, r);
    loss_of({both.forward.output, both.forward.h_n, both.forward.c_n, both.reverse.output, both.reverse.h_n,
             both.reverse.c_n})
        .backward();
    std::vector<ag::Tensor> fused_grads;
    for (const ag::Tensor& t : leaves) fused_grads.push_back(t.grad().clone()), t.zero_grad();

    const ag::LSTMLayerOutput a = ag::lstm_layer(x, lengths, h0f, c0f, f.weight_ih, f.weight_hh, f.bias_ih, f.bias_hh, false);
    const ag::LSTMLayerOutput b = ag::lstm_layer(x, lengths, h0r, c0r, r.weight_ih, r.weight_hh, r.bias_ih, r.bias_hh, true);
    loss_of({a.output, a.h_n, a.c_n, b.output, b.h_n, b.c_n}).backward();
    ag::testing::expect_equal_rel(both.forward.output, a.output, "forward output");
    ag::testing::expect_equal_rel(both.reverse.output, b.output, "reverse output");
    ag::testing::expect_equal_rel(both.reverse.c_n, b.c_n, "reverse c_n");
    for (size_t k = 0; k < leaves.size(); ++k) {
      ag::testing::expect_equal_rel(fused_grads[k], leaves[k].grad(), "gradient of leaf " + std::to_string(k));
      leaves[k].zero_grad();
    }
  }
  ag::set_num_threads(saved_threads);
}

}  // namespace
