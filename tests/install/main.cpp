// A program built outside attograd's tree against an installed attograd (tests/install/run.sh builds
// it with find_package and with pkg-config): its own op (softsign, through ag::custom_op, with its
// backward), its own layer (SoftsignLinear, a Module with parameters of its own) and its own batch
// source, trained with Adam by the library's training loop (ag::train::Trainer), stopped mid-epoch
// and resumed from the run folder's last.h5. Exits 0 when the resumed run continues exactly as the
// uninterrupted one, 1 when anything differs, 2 for a wrong command line.
//   install_user RUN_FOLDER    (two run folders are made inside it)
#include <attograd/core/core.h>
#include <attograd/data/data_path.h>
#include <attograd/nn/linear.h>
#include <attograd/nn/module.h>
#include <attograd/data/shuffle.h>
#include <attograd/optim/adam.h>
#include <attograd/train/trainer.h>
#include <fmt/format.h>

#include <cmath>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using ag::Tensor;

// ---- the user's op: y = softsign(x) = x / (1 + |x|);  dx = dy / (1 + |x|)^2 ----------------------
Tensor softsign(const Tensor& x) {
  return ag::custom_op(
      "softsign", {x},
      [](const std::vector<Tensor>& in) {
        Tensor y = ag::empty(in[0].shape());
        const float* px = in[0].data();
        for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = px[i] / (1.0f + std::fabs(px[i]));
        return y;
      },
      [](const std::vector<Tensor>& in, const Tensor& /*y*/, const Tensor& dy) {
        Tensor denom = 1.0f + ag::abs(in[0]);
        return ag::Grads{dy / (denom * denom)};
      });
}

// ---- the user's layer: y = gain * softsign(x W^T + b), parameters weight (out, in), bias (out), gain (out)
class SoftsignLinear : public ag::nn::UnaryModule {
 public:
  SoftsignLinear(int64_t in, int64_t out) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    weight = register_parameter("weight", ag::uniform({out, in}, -bound, bound, ag::default_generator()));
    bias = register_parameter("bias", ag::zeros({out}));
    gain = register_parameter("gain", ag::full({out}, 1.0f));
  }
  std::string type_name() const override { return "SoftsignLinear"; }
  /// x (batch, in) -> (batch, out).
  Tensor forward(const Tensor& x) override { return gain * softsign(ag::linear(x, weight, bias)); }

  Tensor weight, bias, gain;
};

// The model: the user's layer, then a library layer. Both initialise from the default generator
// (ag::manual_seed), as torch's layers do.
class Regressor : public ag::nn::UnaryModule {
 public:
  Regressor() {
    hidden = register_module("hidden", std::make_shared<SoftsignLinear>(2, 16));
    readout = register_module("readout", std::make_shared<ag::nn::Linear>(16, 1));
  }
  std::string type_name() const override { return "Regressor"; }
  Tensor forward(const Tensor& x) override { return readout->forward(hidden->forward(x)); }

  std::shared_ptr<SoftsignLinear> hidden;
  std::shared_ptr<ag::nn::Linear> readout;
};

// Synthetic data: points in [-2, 2)^2 and the target sin(x0) * x1, 4 batches of 32 per epoch, in an
// order shuffled per epoch from the run's seed: the user's own batch source, which the Trainer
// checkpoints and resumes mid-epoch through state() / restore().
struct XY {
  Tensor x, y;
};

class SyntheticBatches : public ag::train::PlannedBatches<XY> {
 public:
  explicit SyntheticBatches(uint64_t seed) : PlannedBatches(seed), seed_(seed) {
    ag::Generator gen(7);
    for (int64_t b = 0; b < 4; ++b) {
      Tensor x = ag::uniform({32, 2}, -2.0f, 2.0f, gen);
      Tensor y = ag::empty({32, 1});
      for (int64_t i = 0; i < 32; ++i) y.data()[i] = std::sin(x.at({i, 0})) * x.at({i, 1});
      batches_.push_back({x, y});
    }
  }
  const std::vector<XY>& all() const { return batches_; }

 protected:
  int64_t plan(int64_t epoch) override {
    order_ = ag::data::epoch_order(static_cast<int64_t>(batches_.size()), seed_, epoch);
    return static_cast<int64_t>(order_.size());
  }
  XY make(int64_t index) override { return batches_[order_[index]]; }

 private:
  uint64_t seed_;
  std::vector<XY> batches_;
  std::vector<int64_t> order_;
};

// ---- the training: the library's loop (run folder, last.h5/best.h5, metrics.csv, resume) --------
// Trains a fresh model (initial weights from `init_seed`) in `run_dir` to `epochs`, resuming from
// run_dir/last.h5 when `resume` is set, and stopping after `stop_after` steps when >= 0. Returns each
// step's loss, and the final weights in `weights`.
std::vector<float> train(const std::filesystem::path& run_dir, uint64_t init_seed, bool resume, int64_t stop_after,
                         ag::nn::NamedTensors* weights) {
  ag::manual_seed(init_seed);
  Regressor model;
  ag::optim::Adam adam(model.named_parameters(), 1e-2);
  ag::train::TrainerOptions options;
  options.run_dir = run_dir;
  options.epochs = 10;  // 40 steps
  options.stop_after_steps = stop_after;
  options.columns = {"val_loss"};
  ag::train::Trainer trainer(model, adam, nullptr, options);
  if (resume) trainer.resume(ag::train::load_checkpoint((run_dir / "last.h5").string()), {});
  SyntheticBatches batches(11);
  std::vector<float> losses;
  trainer.fit<XY>(
      batches,
      [&](const XY& b) {
        Tensor loss = ag::mse_loss(model(b.x), b.y);
        losses.push_back(loss.item());
        return ag::train::StepOutput{loss, 32, 32};
      },
      [&] {
        ag::NoGradGuard no_grad;
        double sum = 0;
        for (const XY& b : batches.all()) sum += ag::mse_loss(model(b.x), b.y).item();
        const double val = sum / static_cast<double>(batches.all().size());
        return ag::train::Validation{{{"val_loss", val}}, fmt::format("val mse {:.5f}", val)};
      });
  *weights = model.state_dict();
  return losses;
}

bool same_weights(const ag::nn::NamedTensors& a, const ag::nn::NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || a[i].second.to_vector() != b[i].second.to_vector()) return false;
  return true;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} RUN_FOLDER\n", argv[0]);
    return 2;
  }
  ag::set_num_threads(1);
  int failures = 0;
  auto expect = [&](bool ok, const std::string& what) {
    fmt::print("{}: {}\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
  };

  try {
    // The op's backward against finite differences.
    ag::Generator gen(1);
    Tensor probe = ag::uniform({3, 4}, -3.0f, 3.0f, gen).requires_grad_();
    const ag::GradcheckResult check = ag::gradcheck([](const std::vector<Tensor>& in) { return softsign(in[0]); }, {probe});
    expect(check.ok, "gradcheck softsign " + check.message);

    // An installed library looks for data in $ATTOGRAD_DATA and the user data folder only (run.sh
    // runs this with neither $ATTOGRAD_DATA nor $XDG_DATA_HOME set): no folder of the machine it
    // was built on.
    const std::vector<std::filesystem::path> search = ag::data::data_search_path();
    expect(search == std::vector<std::filesystem::path>{ag::data::user_data_dir()},
           fmt::format("data search path is the user data folder {} alone ({} folders)",
                       ag::data::user_data_dir().string(), search.size()));

    constexpr int64_t kSteps = 40, kInterruptAt = 25;
    const std::filesystem::path folder(argv[1]);

    // The uninterrupted run.
    ag::nn::NamedTensors whole_weights, resumed_weights;
    const std::vector<float> whole = train(folder / "whole", 3, false, -1, &whole_weights);
    expect(static_cast<int64_t>(whole.size()) == kSteps, fmt::format("the run took {} steps", whole.size()));
    fmt::print("mse {:.5f} -> {:.5f} in {} steps\n", whole.front(), whole.back(), whole.size());
    expect(whole.back() < 0.5f * whole.front(), "the loss falls to less than half");

    // The same run stopped after kInterruptAt steps (inside epoch 7), then resumed from its last.h5 by
    // a model made with other initial weights: the checkpoint holds everything.
    train(folder / "split", 3, false, kInterruptAt, &resumed_weights);
    const std::vector<float> rest = train(folder / "split", 99, true, -1, &resumed_weights);
    bool same = rest.size() == static_cast<size_t>(kSteps - kInterruptAt);
    for (size_t i = 0; same && i < rest.size(); ++i) same = rest[i] == whole[kInterruptAt + i];
    expect(same, fmt::format("the resumed run's {} losses equal the uninterrupted run's, bit for bit", rest.size()));
    expect(same_weights(whole_weights, resumed_weights), "the resumed run ends with the uninterrupted run's weights");
    for (const char* file : {"last.h5", "best.h5", "metrics.csv"})
      expect(std::filesystem::exists(folder / "split" / file), fmt::format("the run folder holds {}", file));
  } catch (const std::exception& e) {  // ag::Error, and anything else the library raises
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  fmt::print("{}\n", failures == 0 ? "install_user: all checks passed" : "install_user: FAILED");
  return failures == 0 ? 0 : 1;
}
