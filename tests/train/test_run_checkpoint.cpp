// State-dict files and checkpoints: bitwise round trips, refusal of missing, truncated, foreign and
// mismatched files with messages that name them, the atomic write, and a training run resumed from
// a mid-epoch checkpoint that continues bit for bit like the uninterrupted run.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/loss.h"
#include "attograd/core/ops/reduce.h"
#include "attograd/core/random.h"
#include "attograd/train/checkpoint_average.h"
#include "attograd/nn/dropout.h"
#include "attograd/nn/hdf5.h"
#include "attograd/nn/sealed_file.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/sequential.h"
#include "attograd/nn/weight_decay.h"
#include "attograd/train/run_checkpoint.h"
#include "attograd/optim/adam.h"
#include "attograd/optim/clip.h"
#include "attograd/optim/schedule.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ag::Tensor;
using ag::train::Checkpoint;
using ag::train::DataPosition;
using ag::nn::NamedTensors;
using ag::testing::error_of;
using ag::testing::expect_mentions;

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

std::map<std::string, Tensor> by_name(const NamedTensors& t) { return {t.begin(), t.end()}; }

void expect_same_tensors(const NamedTensors& got, const NamedTensors& want) {
  const auto g = by_name(got), w = by_name(want);
  ASSERT_EQ(g.size(), w.size());
  for (const auto& [name, t] : w) {
    ASSERT_TRUE(g.count(name)) << name;
    EXPECT_TRUE(same_bits(g.at(name), t)) << name;
  }
}

// A fresh folder per test, removed afterwards.
class RunCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("attograd_run_checkpoint_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    saved_default_ = {ag::default_generator().seed(), ag::default_generator().offset()};
  }
  void TearDown() override {
    fs::remove_all(dir_);
    ag::default_generator().set_state(saved_default_.seed, saved_default_.offset);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
  ag::train::GeneratorState saved_default_;
};

std::shared_ptr<ag::nn::Sequential> make_model(int64_t in = 4, int64_t hidden = 8) {
  return std::make_shared<ag::nn::Sequential>(std::vector<std::shared_ptr<ag::nn::UnaryModule>>{
      std::make_shared<ag::nn::Linear>(in, hidden), std::make_shared<ag::nn::Tanh>(),
      std::make_shared<ag::nn::Dropout>(0.2f), std::make_shared<ag::nn::Linear>(hidden, 1)});
}

TEST_F(RunCheckpoint, StateDictFileRoundTripIsBitwise) {
  ag::manual_seed(3);
  auto model = make_model();
  ag::nn::save_state_dict(path("weights.h5"), model->state_dict());
  EXPECT_FALSE(fs::exists(ag::temporary_path_for(path("weights.h5"))));
  expect_same_tensors(ag::nn::load_state_dict_file(path("weights.h5")), model->state_dict());
  ag::manual_seed(4);
  auto other = make_model();
  other->load_state_dict(ag::nn::load_state_dict_file(path("weights.h5")));
  expect_same_tensors(other->state_dict(), model->state_dict());
}

TEST_F(RunCheckpoint, CheckpointRoundTripIsBitwise) {
  ag::manual_seed(5);
  auto model = make_model();
  ag::optim::AdamW opt(ag::optim::decay_groups(model->named_parameters(), ag::nn::no_weight_decay(*model), 0.01, 0.1), {0.9, 0.95}, 1e-7, /*amsgrad=*/true);
  ag::optim::WarmupCosine sched(opt, 2, 10, 0.1);
  const Tensor x = ag::randn({6, 4}, ag::default_generator());
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    ag::sum((*model)(x)).backward();
    // Withhold one gradient once, so step counts differ between parameters.
    if (step == 1) model->named_parameters()[1].second.zero_grad();
    opt.step();
    sched.step();
  }
  ag::Generator shuffle(0xFEDCBA9876543210ull);  // a seed above 2^63: stored bit for bit
  shuffle.next_below(10);
  Checkpoint c = ag::train::make_checkpoint(*model, &opt, &sched, {{"shuffle", &shuffle}});
  c.data = DataPosition{2, 17, 0xF000000000000001ull};
  c.config = R"({"lr": 0.01, "name": "tiny ü"})";
  c.vocab["src"] = {"<pad>", "<unk>", "der", "Bär", ""};
  c.vocab["tgt"] = {"<pad>", "the"};
  ag::train::save_checkpoint(path("ck.h5"), c);

  const Checkpoint back = ag::train::load_checkpoint(path("ck.h5"));
  EXPECT_EQ(back.source, path("ck.h5"));
  expect_same_tensors(back.model, c.model);
  ASSERT_TRUE(back.optimizer && back.scheduler && back.data);
  const ag::optim::OptimizerState &o = *back.optimizer, &want = *c.optimizer;
  EXPECT_EQ(o.type, "AdamW");
  EXPECT_EQ(o.step, 3);
  EXPECT_EQ(o.hyper_parameters, want.hyper_parameters);
  EXPECT_EQ(o.steps, want.steps);
  EXPECT_EQ(o.steps.at("0.bias"), 2);
  ASSERT_EQ(o.groups.size(), want.groups.size());
  for (size_t g = 0; g < o.groups.size(); ++g) {
    EXPECT_EQ(o.groups[g].params, want.groups[g].params);
    EXPECT_EQ(o.groups[g].lr, want.groups[g].lr);
    EXPECT_EQ(o.groups[g].weight_decay, want.groups[g].weight_decay);
  }
  ASSERT_EQ(o.tensors.size(), 3u);  // exp_avg, exp_avg_sq, max_exp_avg_sq
  for (const auto& [kind, tensors] : want.tensors) {
    NamedTensors got_kind(o.tensors.at(kind).begin(), o.tensors.at(kind).end());
    expect_same_tensors(got_kind, NamedTensors(tensors.begin(), tensors.end()));
  }
  EXPECT_EQ(back.scheduler->type, "WarmupCosine");
  EXPECT_EQ(back.scheduler->step, 3);
  EXPECT_EQ(back.scheduler->base_lrs, c.scheduler->base_lrs);
  EXPECT_EQ(back.data->epoch, 2);
  EXPECT_EQ(back.data->position, 17);
  EXPECT_EQ(back.data->shuffle_seed, 0xF000000000000001ull);
  ASSERT_EQ(back.rng.size(), 2u);
  EXPECT_EQ(back.rng.at("default").seed, ag::default_generator().seed());
  EXPECT_EQ(back.rng.at("default").offset, ag::default_generator().offset());
  EXPECT_EQ(back.rng.at("shuffle").seed, 0xFEDCBA9876543210ull);
  EXPECT_EQ(back.rng.at("shuffle").offset, shuffle.offset());
  EXPECT_EQ(back.config, c.config);
  EXPECT_EQ(back.vocab, c.vocab);

  // The layout docs/design.md promises, as another reader (h5py, PyTorch) would see it.
  ag::H5File file(path("ck.h5"), ag::H5File::Mode::Read);
  EXPECT_EQ(file.attr_int("/", "format_version"), 1);
  EXPECT_TRUE(file.exists("/model/0.weight"));
  EXPECT_TRUE(file.exists("/optimizer/exp_avg/3.weight"));
  EXPECT_TRUE(file.exists("/optimizer/step/3.weight"));
  EXPECT_EQ(file.attr_string("/optimizer", "type"), "AdamW");
  EXPECT_EQ(file.attr_double("/optimizer", "group0.lr"), opt.param_groups()[0].lr);
  EXPECT_EQ(file.attr_int("/scheduler", "step"), 3);
  EXPECT_EQ(file.attr_int("/data", "position"), 17);
  EXPECT_TRUE(file.exists("/rng/default"));
  EXPECT_EQ(file.read_strings("/vocab/src"), c.vocab["src"]);

  // Evaluation tools read model, config and vocab only.
  const Checkpoint eval = ag::train::load_checkpoint(path("ck.h5"), /*training_state=*/false);
  EXPECT_FALSE(eval.optimizer || eval.scheduler || eval.data);
  EXPECT_TRUE(eval.rng.empty());
  expect_same_tensors(eval.model, c.model);
  EXPECT_EQ(eval.vocab, c.vocab);
  EXPECT_EQ(eval.config, c.config);
}

TEST_F(RunCheckpoint, RefusesMissingTruncatedForeignAndUnknownVersionFiles) {
  expect_mentions(error_of([&] { ag::train::load_checkpoint(path("nothing.h5")); }),
                  {"load_checkpoint", path("nothing.h5"), "does not exist"});
  expect_mentions(error_of([&] { ag::nn::load_state_dict_file(path("nothing.h5")); }),
                  {"load_state_dict_file", path("nothing.h5")});

  ag::manual_seed(1);
  auto model = make_model(64, 256);  // big enough that half the file loses data
  ag::optim::AdamW opt(model->named_parameters());
  Checkpoint c = ag::train::make_checkpoint(*model, &opt);
  ag::train::save_checkpoint(path("truncated.h5"), c);
  fs::resize_file(path("truncated.h5"), fs::file_size(path("truncated.h5")) / 2);
  expect_mentions(error_of([&] { ag::train::load_checkpoint(path("truncated.h5")); }),
                  {"load_checkpoint", path("truncated.h5")});

  {
    ag::H5File foreign(path("foreign.h5"), ag::H5File::Mode::Create);
    foreign.write("/model/x", ag::ones({2}));
    foreign.close();
  }
  expect_mentions(error_of([&] { ag::train::load_checkpoint(path("foreign.h5")); }),
                  {path("foreign.h5"), "not an attograd checkpoint", "format_version"});

  {
    ag::H5File future(path("future.h5"), ag::H5File::Mode::Create);
    future.set_attr("/", "format_version", int64_t{7});
    future.write("/model/x", ag::ones({2}));
    future.close();
  }
  expect_mentions(error_of([&] { ag::train::load_checkpoint(path("future.h5")); }),
                  {path("future.h5"), "format_version 7", "version 1"});
  expect_mentions(error_of([&] { ag::nn::load_state_dict_file(path("future.h5")); }), {"format_version 7"});
}

TEST_F(RunCheckpoint, RestoreRefusesMissingUnexpectedAndMisshapedNames) {
  ag::manual_seed(2);
  auto model = make_model(4, 8);
  ag::optim::AdamW opt(model->named_parameters());
  ag::train::save_checkpoint(path("ck.h5"), ag::train::make_checkpoint(*model));
  const Checkpoint c = ag::train::load_checkpoint(path("ck.h5"));

  auto wider = make_model(4, 9);
  expect_mentions(error_of([&] { ag::train::restore_checkpoint(c, *wider); }),
                  {path("ck.h5"), "0.weight", "(9, 4)", "(8, 4)"});

  Checkpoint missing = c;
  missing.model.erase(missing.model.begin());
  auto target = make_model(4, 8);
  expect_mentions(error_of([&] { ag::train::restore_checkpoint(missing, *target); }), {"missing", "0.bias"});

  Checkpoint extra = c;
  extra.model.emplace_back("head.weight", ag::ones({1}));
  expect_mentions(error_of([&] { ag::train::restore_checkpoint(extra, *target); }), {"unexpected", "head.weight"});

  // The file holds no optimizer state and no "shuffle" generator.
  ag::optim::AdamW target_opt(target->named_parameters());
  expect_mentions(error_of([&] { ag::train::restore_checkpoint(c, *target, &target_opt); }),
                  {path("ck.h5"), "no optimizer state"});
  ag::Generator shuffle(1);
  expect_mentions(error_of([&] { ag::train::restore_checkpoint(c, *target, nullptr, nullptr, {{"shuffle", &shuffle}}); }),
                  {"generator 'shuffle'"});
}

TEST_F(RunCheckpoint, FailedWriteKeepsThePreviousCheckpoint) {
  ag::manual_seed(6);
  auto model = make_model();
  const std::string file = path("last.h5");
  ag::train::save_checkpoint(file, ag::train::make_checkpoint(*model));
  const NamedTensors good = ag::train::load_checkpoint(file).model;

  ag::manual_seed(7);
  auto newer = make_model();
  const std::string tmp = ag::temporary_path_for(file);
  fs::create_directory(tmp);  // the temporary file cannot be created
  expect_mentions(error_of([&] { ag::train::save_checkpoint(file, ag::train::make_checkpoint(*newer)); }),
                  {"save_checkpoint", file});
  expect_same_tensors(ag::train::load_checkpoint(file).model, good);
  EXPECT_TRUE(fs::is_directory(tmp));  // not ours to remove

  fs::remove(tmp);
  ag::train::save_checkpoint(file, ag::train::make_checkpoint(*newer));  // replaces it once writing works
  expect_same_tensors(ag::train::load_checkpoint(file).model, newer->state_dict());
}

// ---- resuming a training run mid-epoch -------------------------------------------------------

constexpr int64_t kSamples = 20, kBatch = 4, kBatches = kSamples / kBatch, kEpochs = 2;
constexpr uint64_t kShuffleSeed = 42;

// The epoch's sample order: a Fisher-Yates shuffle from a generator seeded by (shuffle_seed, epoch).
std::vector<int64_t> epoch_order(uint64_t shuffle_seed, int64_t epoch) {
  ag::Generator gen(shuffle_seed * 1000003 + static_cast<uint64_t>(epoch));
  std::vector<int64_t> order(kSamples);
  for (int64_t i = 0; i < kSamples; ++i) order[i] = i;
  for (int64_t i = kSamples - 1; i > 0; --i) std::swap(order[i], order[gen.next_below(i + 1)]);
  return order;
}

// Rows `order[b * kBatch ...]` of a (kSamples, cols) tensor.
Tensor rows(const Tensor& all, const std::vector<int64_t>& order, int64_t b) {
  const int64_t cols = all.size(1);
  std::vector<float> out;
  for (int64_t i = b * kBatch; i < (b + 1) * kBatch; ++i)
    for (int64_t j = 0; j < cols; ++j) out.push_back(all.at({order[i], j}));
  return ag::from_data(out, {kBatch, cols});
}

// Linear -> tanh -> Dropout(0.2) -> Linear trained with AdamW, a warmup-cosine schedule and
// gradient clipping on synthetic regression data.
struct TrainingRun {
  explicit TrainingRun(uint64_t init_seed) {
    ag::manual_seed(init_seed);
    model = make_model(4, 8);
    opt = std::make_unique<ag::optim::AdamW>(ag::optim::decay_groups(model->named_parameters(), ag::nn::no_weight_decay(*model), 0.05, 0.1));
    sched = std::make_unique<ag::optim::WarmupCosine>(*opt, 3, kEpochs * kBatches, 0.1);
    ag::Generator data_gen(99);
    x = ag::randn({kSamples, 4}, data_gen);
    y = ag::randn({kSamples, 1}, data_gen);
  }

  // Trains from `from` to the end; with `stop`, saves a checkpoint to `path` on reaching it and returns.
  void train(DataPosition from, std::vector<float>& losses, std::optional<DataPosition> stop = {},
             const std::string& path = "") {
    for (int64_t epoch = from.epoch; epoch < kEpochs; ++epoch) {
      const std::vector<int64_t> order = epoch_order(from.shuffle_seed, epoch);
      for (int64_t b = epoch == from.epoch ? from.position : 0; b < kBatches; ++b) {
        if (stop && epoch == stop->epoch && b == stop->position) {
          Checkpoint c = ag::train::make_checkpoint(*model, opt.get(), sched.get());
          c.data = DataPosition{epoch, b, from.shuffle_seed};
          c.config = R"({"hidden": 8})";
          ag::train::save_checkpoint(path, c);
          return;
        }
        const Tensor loss = ag::mse_loss((*model)(rows(x, order, b)), rows(y, order, b));
        opt->zero_grad();
        loss.backward();
        ag::optim::clip_grad_norm_(model->named_parameters(), 0.5);
        opt->step();
        sched->step();
        losses.push_back(loss.item());
      }
    }
  }

  std::shared_ptr<ag::nn::Sequential> model;
  std::unique_ptr<ag::optim::AdamW> opt;
  std::unique_ptr<ag::optim::WarmupCosine> sched;
  Tensor x, y;
};

TEST_F(RunCheckpoint, ResumedRunContinuesBitForBit) {
  std::vector<float> uninterrupted;
  TrainingRun full(1);
  full.train({0, 0, kShuffleSeed}, uninterrupted);
  ASSERT_EQ(uninterrupted.size(), static_cast<size_t>(kEpochs * kBatches));

  std::vector<float> resumed;
  {
    TrainingRun first(1);
    first.train({0, 0, kShuffleSeed}, resumed, DataPosition{1, 2, kShuffleSeed}, path("mid.h5"));
  }
  ASSERT_EQ(resumed.size(), static_cast<size_t>(kBatches + 2));

  TrainingRun second(12345);  // other initial weights, and the default generator elsewhere
  EXPECT_FALSE(same_bits(second.model->named_parameters()[0].second, full.model->named_parameters()[0].second));
  const Checkpoint c = ag::train::load_checkpoint(path("mid.h5"));
  ag::train::restore_checkpoint(c, *second.model, second.opt.get(), second.sched.get());
  ASSERT_TRUE(c.data.has_value());
  EXPECT_EQ(c.data->epoch, 1);
  EXPECT_EQ(c.data->position, 2);
  second.train(*c.data, resumed);

  ASSERT_EQ(resumed.size(), uninterrupted.size());
  for (size_t i = 0; i < resumed.size(); ++i) EXPECT_EQ(resumed[i], uninterrupted[i]) << "loss " << i;
  expect_same_tensors(second.model->state_dict(), full.model->state_dict());
  EXPECT_EQ(second.opt->param_groups()[0].lr, full.opt->param_groups()[0].lr);
  // Both runs consumed the same dropout positions: the resumed one ends where a full run ends.
  const uint64_t resumed_offset = ag::default_generator().offset();
  std::vector<float> ignored;
  TrainingRun again(1);
  again.train({0, 0, kShuffleSeed}, ignored);
  EXPECT_EQ(resumed_offset, ag::default_generator().offset());
}

}  // namespace

// ---- checkpoint averaging -------------------------------------------------------------------------

namespace {

TEST_F(RunCheckpoint, AverageCheckpointsIsTheElementwiseMean) {
  std::vector<std::shared_ptr<ag::nn::Sequential>> models;
  std::vector<std::string> files;
  for (int i = 0; i < 3; ++i) {
    ag::manual_seed(20 + i);
    models.push_back(make_model());
    Checkpoint c = ag::train::make_checkpoint(*models.back());
    c.vocab["src"] = {"<pad>", "a"};
    c.config = fmt::format(R"({{"file": {}}})", i);
    files.push_back(path(fmt::format("epoch{}.h5", i)));
    ag::train::save_checkpoint(files.back(), c);
  }
  const Checkpoint avg = ag::train::average_checkpoints(files);
  EXPECT_EQ(avg.config, R"({"file": 2})");  // the last file's
  EXPECT_EQ(ag::train::load_checkpoint_config(files[1]), R"({"file": 1})");
  EXPECT_EQ(avg.vocab.at("src"), (std::vector<std::string>{"<pad>", "a"}));
  EXPECT_FALSE(avg.optimizer || avg.scheduler || avg.data);
  const auto got = by_name(avg.model);
  ASSERT_EQ(got.size(), models[0]->state_dict().size());
  for (const auto& [name, t] : models[0]->state_dict()) {
    const auto b = by_name(models[1]->state_dict()).at(name), c = by_name(models[2]->state_dict()).at(name);
    for (int64_t k = 0; k < t.numel(); ++k) {
      const double mean = (static_cast<double>(t.data()[k]) + b.data()[k] + c.data()[k]) / 3.0;
      ASSERT_EQ(got.at(name).data()[k], static_cast<float>(mean)) << name << " at " << k;
    }
  }
  // One file is its own average.
  expect_same_tensors(ag::train::average_checkpoints({files[0]}).model, models[0]->state_dict());
}

TEST_F(RunCheckpoint, AverageCheckpointsRefusesDifferentModels) {
  ag::manual_seed(30);
  ag::train::save_checkpoint(path("a.h5"), ag::train::make_checkpoint(*make_model(4, 8)));
  ag::train::save_checkpoint(path("wide.h5"), ag::train::make_checkpoint(*make_model(4, 9)));
  expect_mentions(error_of([&] { ag::train::average_checkpoints({path("a.h5"), path("wide.h5")}); }),
                  {"average_checkpoints", "wide.h5", "'0.bias'", "(9)", "(8)"});
  Checkpoint other_vocab = ag::train::make_checkpoint(*make_model(4, 8));
  other_vocab.vocab["src"] = {"x"};
  ag::train::save_checkpoint(path("vocab.h5"), other_vocab);
  expect_mentions(error_of([&] { ag::train::average_checkpoints({path("a.h5"), path("vocab.h5")}); }),
                  {"vocab.h5", "vocabularies"});
  expect_mentions(error_of([&] { ag::train::average_checkpoints({path("a.h5"), path("missing.h5")}); }),
                  {"missing.h5"});
  expect_mentions(error_of([&] { ag::train::load_checkpoint_config(path("missing.h5")); }),
                  {"load_checkpoint_config", "missing.h5"});
  EXPECT_EQ(ag::train::load_checkpoint_config(path("a.h5")), ag::train::load_checkpoint(path("a.h5"), false).config);
  expect_mentions(error_of([&] { ag::train::average_checkpoints({}); }), {"no files"});
}

}  // namespace
