// A program built outside attograd's tree against an installed attograd (tests/install/run.sh builds
// it with find_package and with pkg-config): its own op (softsign, through ag::custom_op, with its
// backward), its own layer (SoftsignLinear, a Module with parameters of its own), trained with Adam
// on synthetic data, checkpointed and resumed. Exits 0 when the resumed run continues exactly as the
// uninterrupted one, 1 when anything differs, 2 for a wrong command line.
//   install_user CHECKPOINT_FOLDER
#include <attograd/core/core.h>
#include <attograd/data/data_path.h>
#include <attograd/nn/linear.h>
#include <attograd/nn/module.h>
#include <attograd/nn/serialize.h>
#include <attograd/optim/adam.h>
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

// Synthetic data: points in [-2, 2)^2 and the target sin(x0) * x1, in batches of 32.
struct Batches {
  std::vector<Tensor> inputs, targets;
};

Batches make_batches(int64_t count) {
  ag::Generator gen(7);
  Batches batches;
  for (int64_t b = 0; b < count; ++b) {
    Tensor x = ag::uniform({32, 2}, -2.0f, 2.0f, gen);
    Tensor y = ag::empty({32, 1});
    for (int64_t i = 0; i < 32; ++i) y.data()[i] = std::sin(x.at({i, 0})) * x.at({i, 1});
    batches.inputs.push_back(x);
    batches.targets.push_back(y);
  }
  return batches;
}

// ---- the training: steps [first, last) of a run, batch step % count; returns each step's loss ----
std::vector<float> train_steps(Regressor& model, ag::optim::Adam& adam, const Batches& data, int64_t first,
                               int64_t last) {
  std::vector<float> losses;
  const int64_t count = static_cast<int64_t>(data.inputs.size());
  for (int64_t step = first; step < last; ++step) {
    Tensor loss = ag::mse_loss(model(data.inputs[step % count]), data.targets[step % count]);
    adam.zero_grad();
    loss.backward();
    adam.step();
    losses.push_back(loss.item());
  }
  return losses;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} CHECKPOINT_FOLDER\n", argv[0]);
    return 2;
  }
  const std::filesystem::path checkpoint = std::filesystem::path(argv[1]) / "resume.h5";
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

    const Batches data = make_batches(4);
    constexpr int64_t kSteps = 40, kInterruptAt = 25;

    // The uninterrupted run.
    ag::manual_seed(3);
    Regressor model;
    ag::optim::Adam adam(model.named_parameters(), 1e-2);
    const std::vector<float> whole = train_steps(model, adam, data, 0, kSteps);
    fmt::print("{}\nmse {:.5f} -> {:.5f} in {} steps\n", model.summary(), whole.front(), whole.back(), kSteps);
    expect(whole.back() < 0.5f * whole.front(), "the loss falls to less than half");

    // The same run stopped at kInterruptAt and checkpointed...
    {
      ag::manual_seed(3);
      Regressor first_half;
      ag::optim::Adam first_adam(first_half.named_parameters(), 1e-2);
      train_steps(first_half, first_adam, data, 0, kInterruptAt);
      ag::nn::Checkpoint state = ag::nn::make_checkpoint(first_half, &first_adam);
      state.data = ag::nn::DataPosition{0, kInterruptAt, 0};
      ag::nn::save_checkpoint(checkpoint.string(), state);
    }
    // ...then resumed by a fresh process state: other initial weights, a new optimizer.
    ag::manual_seed(99);
    Regressor resumed;
    ag::optim::Adam resumed_adam(resumed.named_parameters(), 1e-2);
    const ag::nn::Checkpoint loaded = ag::nn::load_checkpoint(checkpoint.string());
    ag::nn::restore_checkpoint(loaded, resumed, &resumed_adam);
    expect(loaded.data && loaded.data->position == kInterruptAt, "the checkpoint holds the data position");
    const std::vector<float> rest = train_steps(resumed, resumed_adam, data, loaded.data->position, kSteps);
    bool same = rest.size() == static_cast<size_t>(kSteps - kInterruptAt);
    for (size_t i = 0; same && i < rest.size(); ++i) same = rest[i] == whole[kInterruptAt + i];
    expect(same, fmt::format("the resumed run's losses equal the uninterrupted run's, bit for bit (last {} vs {})",
                             rest.back(), whole.back()));
    const ag::nn::NamedTensors a = model.state_dict(), b = resumed.state_dict();
    bool same_weights = a.size() == b.size();
    for (size_t i = 0; same_weights && i < a.size(); ++i)
      for (int64_t j = 0; same_weights && j < a[i].second.numel(); ++j)
        same_weights = a[i].second.data()[j] == b[i].second.data()[j];
    expect(same_weights, "the resumed run ends with the uninterrupted run's weights");
  } catch (const std::exception& e) {  // ag::Error, and anything else the library raises
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  fmt::print("{}\n", failures == 0 ? "install_user: all checks passed" : "install_user: FAILED");
  return failures == 0 ? 0 : 1;
}
