// ag::train::Trainer: callbacks in order, early stopping with best.h5 the best epoch, a user's own
// batch source resuming mid-epoch bit for bit, the gradient hook before the step, profiler phases.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "attograd/core/core.h"
#include "attograd/data/shuffle.h"
#include "attograd/nn/linear.h"
#include "attograd/optim/sgd.h"
#include "attograd/train/interrupt.h"
#include "attograd/train/trainer.h"
#include "tests/test_util.h"

namespace {

struct XY {
  ag::Tensor x, y;
};

// A user's own source, written against the bare interface: 12 rows of y = 2x - 1 in batches of 3,
// shuffled per epoch; its state is {epoch, next batch, seed}.
class Rows : public ag::train::BatchSource<XY> {
 public:
  explicit Rows(uint64_t seed) : seed_(seed) { set_epoch(0); }
  void set_epoch(int64_t epoch) override {
    epoch_ = epoch;
    next_ = 0;
    order_ = ag::data::epoch_order(12, seed_, epoch);
  }
  int64_t size() const override { return 4; }
  ag::train::DataPosition state() const override { return {epoch_, next_, seed_}; }
  void restore(const ag::train::DataPosition& s) override {
    set_epoch(s.epoch);
    next_ = s.position;
  }
  XY next() override {
    std::vector<float> x, y;
    for (int i = 0; i < 3; ++i) {
      const float v = static_cast<float>(order_[next_ * 3 + i]) / 12.0f;
      x.push_back(v);
      y.push_back(2 * v - 1);
    }
    ++next_;
    return {ag::from_data(x, {3, 1}), ag::from_data(y, {3, 1})};
  }

 private:
  uint64_t seed_;
  int64_t epoch_ = 0, next_ = 0;
  std::vector<int64_t> order_;
};

// A model, its optimizer and a trainer on `dir`, with `scores` as the validation metric per epoch
// (or the model's loss on all rows when empty).
struct SmallRun {
  ag::nn::Linear model{1, 1};
  ag::optim::SGD optimizer;
  ag::train::Trainer trainer;
  std::vector<double> scores;
  explicit SmallRun(const std::filesystem::path& dir, ag::train::TrainerOptions o = {})
      : optimizer(model.named_parameters(), 0.1),
        trainer(model, optimizer, nullptr, with_dir(std::move(o), dir)) {}
  static ag::train::TrainerOptions with_dir(ag::train::TrainerOptions o, const std::filesystem::path& dir) {
    o.run_dir = dir;
    o.columns = {"val_loss"};
    return o;
  }
  ag::train::FitResult fit(Rows& rows) {
    int64_t epoch = 0;
    return trainer.fit<XY>(
        rows, [&](const XY& b) { return ag::train::StepOutput{ag::mse_loss(model.forward(b.x), b.y), 3, 3}; },
        [&] {
          const double v = scores.empty() ? 0.5 : scores.at(epoch);
          ++epoch;
          return ag::train::Validation{{{"val_loss", v}}, ""};
        });
  }
};

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Trainer, CallbacksAreCalledInOrder) {
  ag::testing::TempDir tmp;
  SmallRun s(tmp.path / "run", {.epochs = 2});
  std::vector<std::string> calls;
  for (const char* name : {"a", "b"}) {
    auto c = std::make_shared<ag::train::LambdaCallback>();
    c->train_begin = [&calls, name](ag::train::Trainer&) { calls.push_back(fmt::format("{} begin", name)); };
    c->epoch_begin = [&calls, name](ag::train::Trainer&, int64_t e) { calls.push_back(fmt::format("{} epoch {}", name, e)); };
    c->step_end = [&calls, name](ag::train::Trainer&, const ag::train::StepInfo& i) {
      calls.push_back(fmt::format("{} step {} {}/{}", name, i.step, i.batch, i.batches));
    };
    c->epoch_end = [&calls, &tmp, name](ag::train::Trainer&, const ag::train::EpochInfo& i) {
      EXPECT_TRUE(std::filesystem::exists(tmp.path / "run" / "last.h5"));
      calls.push_back(fmt::format("{} end {} at {}", name, i.epoch, i.step));
    };
    c->train_end = [&calls, name](ag::train::Trainer&, const ag::train::FitResult& r) {
      calls.push_back(fmt::format("{} done {}", name, r.steps));
    };
    s.trainer.add_callback(c);
  }
  Rows rows(1);
  s.fit(rows);
  std::vector<std::string> expected = {"a begin", "b begin"};
  for (int e = 0; e < 2; ++e) {
    expected.push_back(fmt::format("a epoch {}", e));
    expected.push_back(fmt::format("b epoch {}", e));
    for (int b = 1; b <= 4; ++b) {
      expected.push_back(fmt::format("a step {} {}/4", e * 4 + b, b));
      expected.push_back(fmt::format("b step {} {}/4", e * 4 + b, b));
    }
    expected.push_back(fmt::format("a end {} at {}", e + 1, (e + 1) * 4));
    expected.push_back(fmt::format("b end {} at {}", e + 1, (e + 1) * 4));
  }
  expected.push_back("a done 8");
  expected.push_back("b done 8");
  EXPECT_EQ(calls, expected);
}

TEST(Trainer, EarlyStoppingStopsAndRestoresTheBestEpoch) {
  ag::testing::TempDir tmp;
  SmallRun s(tmp.path / "run", {.epochs = 10});
  s.scores = {0.9, 0.5, 0.45, 0.6, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1};  // min_delta 0.1: epoch 3 is no real gain
  auto stopper = std::make_shared<ag::train::EarlyStopping>("val_loss", 2, 0.1, ag::train::Mode::Min);
  std::vector<ag::nn::NamedTensors> weights;  // after each epoch
  auto keep = std::make_shared<ag::train::LambdaCallback>();
  keep->epoch_end = [&](ag::train::Trainer& t, const ag::train::EpochInfo&) {
    ag::nn::NamedTensors copy;
    for (const auto& [n, p] : t.model().state_dict()) copy.emplace_back(n, p.clone());
    weights.push_back(copy);
  };
  s.trainer.add_callback(keep);
  s.trainer.add_callback(stopper);
  Rows rows(1);
  const ag::train::FitResult r = s.fit(rows);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(stopper->stopped_epoch(), 4);  // no gain of 0.1 over epoch 2 in epochs 3 and 4
  EXPECT_EQ(r.steps, 16);
  EXPECT_EQ(r.progress.best_epoch, 3);  // best.h5 is chosen on the monitor itself: 0.45 < 0.5
  ASSERT_EQ(weights.size(), 4u);
  const auto best = ag::train::load_checkpoint((tmp.path / "run" / "best.h5").string(), false);
  auto epoch3 = [&](const std::string& name) {  // the weights after epoch 3 (a function: clang 14 lambdas
    for (const auto& p : weights[2])              // cannot capture structured bindings)
      if (p.first == name) return p.second.to_vector();
    ADD_FAILURE() << name << " is not among epoch 3's weights";
    return std::vector<float>();
  };
  for (const auto& [name, t] : s.model.state_dict())
    EXPECT_EQ(t.to_vector(), epoch3(name)) << "the model holds best.h5's epoch 3 again: " << name;
  EXPECT_EQ(best.model.size(), weights[2].size());
  for (const auto& [name, t] : best.model) EXPECT_EQ(t.to_vector(), epoch3(name)) << name;
}

TEST(Trainer, CustomBatchSourceResumesMidEpochBitForBit) {
  ag::testing::TempDir tmp;
  {
    ag::manual_seed(7);
    SmallRun whole(tmp.path / "whole", {.epochs = 2});
    Rows rows(5);
    whole.fit(rows);
  }
  {
    ag::manual_seed(7);
    SmallRun first(tmp.path / "split", {.epochs = 2, .stop_after_steps = 3});  // stops inside epoch 1
    Rows rows(5);
    EXPECT_TRUE(first.fit(rows).stopped);
  }
  const auto last = ag::train::load_checkpoint((tmp.path / "split" / "last.h5").string());
  ASSERT_TRUE(last.data);
  EXPECT_EQ(*last.data, (ag::train::DataPosition{0, 3, 5}));
  {
    SmallRun second(tmp.path / "split", {.epochs = 2});
    second.trainer.resume(last, {});
    Rows rows(5);
    EXPECT_EQ(second.fit(rows).steps, 5);
  }
  for (const char* file : {"last.h5", "best.h5"})
    EXPECT_TRUE(bytes_of(tmp.path / "whole" / file) == bytes_of(tmp.path / "split" / file)) << file << " differs";
}

TEST(Trainer, GradientHookSeesAndChangesGradientsBeforeTheStep) {
  ag::testing::TempDir tmp;
  SmallRun s(tmp.path / "run", {.epochs = 1});
  const std::vector<float> before = s.model.weight.to_vector();
  int64_t calls = 0;
  s.trainer.set_gradient_hook([&](const ag::nn::NamedTensors& params) {
    ++calls;
    for (const auto& [name, p] : params) {
      EXPECT_TRUE(p.grad().defined()) << name;
      EXPECT_EQ(p.to_vector(), name == "weight" ? before : p.to_vector()) << "the step has not run yet";
      ag::Tensor g = p.grad();
      for (int64_t i = 0; i < g.numel(); ++i) g.data()[i] = 0;  // zero gradients: the step changes nothing
    }
  });
  Rows rows(1);
  s.fit(rows);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(s.model.weight.to_vector(), before);
}

TEST(Trainer, ProfilerSeesEveryPhase) {
  struct Phases : ag::train::Profiler {
    std::vector<std::string> seen;
    int depth = 0;
    void begin(std::string_view p) override { seen.emplace_back(p); ++depth; }
    void end(std::string_view) override { --depth; }
  } phases;
  ag::testing::TempDir tmp;
  SmallRun s(tmp.path / "run", {.epochs = 1});
  s.trainer.set_profiler(&phases);
  Rows rows(1);
  s.fit(rows);
  EXPECT_EQ(phases.depth, 0);
  for (const char* p : {"data", "forward", "backward", "optimizer", "validation", "checkpoint"})
    EXPECT_NE(std::find(phases.seen.begin(), phases.seen.end(), p), phases.seen.end()) << p;
}

TEST(Trainer, NonFiniteLossStopsTheRunNamingTheStep) {
  ag::testing::TempDir tmp;
  SmallRun s(tmp.path / "run", {.epochs = 1});
  Rows rows(1);
  const std::string message = ag::testing::error_of([&] {
    s.trainer.fit<XY>(
        rows, [&](const XY& b) { return ag::train::StepOutput{ag::mse_loss(s.model.forward(b.x), b.y) / 0.0f, 3, 3}; },
        [] { return ag::train::Validation{{{"val_loss", 0}}, ""}; });
  });
  ag::testing::expect_mentions(message, {"step 1"});
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "run" / "last.h5"));
}

}  // namespace
