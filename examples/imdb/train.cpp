#include "examples/imdb/train.h"

#include <numeric>
#include <optional>
#include <tuple>
#include <nlohmann/json.hpp>

#include "attograd/core/core.h"
#include "attograd/data/data_path.h"
#include "attograd/dist/dist.h"
#include "attograd/data/imdb.h"
#include "attograd/data/shuffle.h"
#include "attograd/nn/hdf5.h"
#include "attograd/nn/weight_decay.h"
#include "attograd/optim/adam.h"
#include "attograd/optim/schedule.h"
#include "attograd/train/checkpoint_manager.h"
#include "attograd/train/run_checkpoint.h"
#include "attograd/train/option_table.h"
#include "attograd/train/run_lock.h"
#include "attograd/train/trainer.h"
#include "examples/imdb/dataset.h"
#include "examples/imdb/evaluate.h"

namespace imdb {

namespace {

using json = nlohmann::json;

// The options of a run: what its checkpoints keep (a resumed run keeps its own recipe; --epochs may
// move where it ends) and the values each may take.
const ag::train::OptionTable<TrainOptions>& option_table() {
  static const ag::train::OptionTable<TrainOptions> table = [] {
    using ag::train::above, ag::train::at_least, ag::train::in, ag::train::Ends;
    ag::train::OptionTable<TrainOptions> t;
    t.add("optimizer", &TrainOptions::optimizer, ag::train::Choices{{"adam", "adamw"}});
    t.add("lr", &TrainOptions::lr, above(0));
    t.add("weight_decay", &TrainOptions::weight_decay, at_least(0));
    t.add("epochs", &TrainOptions::epochs, at_least(1)).may_change_on_resume();
    t.add("batch", &TrainOptions::batch, at_least(1));
    t.add("seed", &TrainOptions::seed);
    t.add("clip", &TrainOptions::clip, at_least(0), "0 turns clipping off");
    // Absent from the configs of runs before 0.2, which had none of them: the article's values.
    t.add("schedule", &TrainOptions::schedule, ag::train::Choices{{"constant", "linear", "cosine"}}).optional();
    t.add("warmup", &TrainOptions::warmup, at_least(0)).optional();
    t.add("patience", &TrainOptions::patience, at_least(0), "0: no early stopping").optional();
    t.add("min_delta", &TrainOptions::min_delta, in(0, 1)).optional();
    t.add("save_every", &TrainOptions::save_every, at_least(0), "0: at epoch ends");
    t.add("val_fraction", &TrainOptions::val_fraction, in(0, 1, Ends::Open),
          "the best epoch is chosen on the validation reviews");
    t.add("per_class", &TrainOptions::per_class, at_least(0), "0: every review");
    t.add("maxlen", [](auto& o) -> auto& { return o.model.maxlen; }, at_least(1)).not_saved();
    t.add("dropout", [](auto& o) -> auto& { return o.model.dropout; }, in(0, 1, Ends::OpenHigh)).not_saved();
    t.add("embed_dropout", [](auto& o) -> auto& { return o.model.embed_dropout; }, in(0, 1, Ends::OpenHigh))
        .not_saved();
    t.add("lstm_dropout", [](auto& o) -> auto& { return o.model.lstm_dropout; }, in(0, 1, Ends::OpenHigh)).not_saved();
    t.add("threads", &TrainOptions::threads, in(0, ag::kMaxThreads), "0: all cores").not_saved();
    return t;
  }();
  return table;
}

std::unique_ptr<ag::optim::Optimizer> make_optimizer(const TrainOptions& o, Classifier& model) {
  if (o.optimizer == "adam")
    return std::make_unique<ag::optim::Adam>(
        std::vector<ag::optim::ParamGroup>{{model.named_parameters(), o.lr, o.weight_decay}});
  if (o.optimizer == "adamw")
    return std::make_unique<ag::optim::AdamW>(ag::optim::decay_groups(model.named_parameters(), ag::nn::no_weight_decay(model), o.lr, o.weight_decay));
  throw ag::Error(fmt::format("--optimizer must be adam or adamw, got '{}'", o.optimizer));
}

// The learning-rate schedule over the run's `total_steps`; none for a constant rate.
std::unique_ptr<ag::optim::Scheduler> make_scheduler(const TrainOptions& o, ag::optim::Optimizer& optimizer,
                                                     int64_t total_steps) {
  if (o.schedule == "constant") return nullptr;
  ag::train::check_usage(o.warmup < total_steps, "--warmup {} must be below the run's {} steps", o.warmup,
                         total_steps);
  if (o.schedule == "linear") return std::make_unique<ag::optim::WarmupLinear>(optimizer, o.warmup, total_steps);
  return std::make_unique<ag::optim::WarmupCosine>(optimizer, o.warmup, total_steps);
}

// The reviews a run trains and validates on, and its vocabulary.
struct Data {
  ag::data::Vocab vocab;
  Examples examples;
  std::vector<int64_t> train_idx, val_idx;
};

// The train split, its vocabulary (a resumed run's own) and a held-out validation part. A resumed run
// reads the reviews it started on, unless --data names another copy of them. Sets o.data_dir to the
// folder read and config.vocab_size to the vocabulary's.
Data load_data(TrainOptions& o, ModelConfig& config, const std::optional<ag::train::Checkpoint>& last,
               const json& run_data) {
  if (!run_data.is_null()) o.data_dir = ag::data::data_flag_for_run(o.data_dir, run_data.at("dir"));
  const TokenizedSplit train_split = load_split(o.data_dir, "train", o.per_class);
  o.data_dir = train_split.root;  // the test split comes from the same folder
  if (o.test) ag::data::check_imdb_split(o.data_dir, "test");  // now, not after hours of training
  Data d{last ? ag::data::Vocab::from_tokens(last->vocab.at("words"), "<unk>")
              : build_vocab(train_split, config.vocab_size),
         {}, {}, {}};
  config.vocab_size = d.vocab.size();
  d.examples = encode_all(train_split, d.vocab);
  if (!run_data.is_null()) {
    const int64_t run_reviews = run_data.at("train_reviews");
    ag::check(run_reviews == d.examples.size(),
              "--resume {}: the run trained on {} reviews from {}, but {} has {}; pass --data with the run's data",
              o.resume_dir, run_reviews, run_data.at("dir").get<std::string>(), o.data_dir, d.examples.size());
  }
  std::tie(d.train_idx, d.val_idx) = ag::data::split_validation(d.examples.size(), o.val_fraction, o.seed);
  ag::check(static_cast<int64_t>(d.train_idx.size()) >= o.batch, "{} training reviews is fewer than one batch of {}",
            d.train_idx.size(), o.batch);
  fmt::print("imdb: {} training and {} validation reviews, vocabulary {}, maxlen {}{}\n", d.train_idx.size(),
             d.val_idx.size(), d.vocab.size(), config.maxlen, config.mask ? ", masked" : "");
  return d;
}

// The config each checkpoint carries: what resuming, evaluating and predicting need.
std::string run_config(const TrainOptions& o, const ModelConfig& config, const ag::train::Progress& p, const Data& d) {
  return json{{"model", json::parse(config.to_json())},
              {"train", option_table().to_json(o)},
              {"progress", {{"best_val_accuracy", p.best}, {"best_epoch", p.best_epoch}}},
              {"data", {{"dir", o.data_dir}, {"train_reviews", d.examples.size()}}}}
      .dump();
}

// The test split, once, with the checkpoint chosen on validation.
double test_best(const ag::train::Trainer& trainer, const TrainOptions& o, const Data& d, Classifier& model,
                 const TrainResult& r) {
  model.load_state_dict(ag::train::load_checkpoint(trainer.checkpoints().best_path().string(), false).model);
  const Examples test_set = encode_all(load_split(o.data_dir, "test"), d.vocab);
  const Evaluation test = trainer.distributed() ? evaluate_across_ranks(model, test_set, {}, 256, true)
                                                : evaluate(model, test_set, {}, 256, true);
  fmt::print("test: accuracy {:.2f}% (loss {:.4f}) on {} reviews with best.h5 (epoch {}, val accuracy {:.2f}%)\n",
             100 * test.accuracy, test.loss, test.count, r.best_epoch, 100 * r.best_val_accuracy);
  return test.accuracy;
}

// For bench/: what training would do, so bench/imdb_speed.cpp and bench/torch/imdb.py run the same
// steps. Writes the config, the initial model (/model/<name>), the next batches
// /batches/<s>/{ids, lengths, labels} as training makes them (export_steps of them, or every batch of
// every epoch when export_steps < 0, with /epoch_ends: the step count at which each epoch ends) and,
// for a full export, the validation and test sets as /val/* and /test/* (one batch each), so PyTorch
// can run the whole recipe on the identical data.
void export_batches(const TrainOptions& o, const Data& d, const ModelConfig& config, const Classifier& initial) {
  const Examples& train_set = d.examples;
  const std::vector<int64_t>&train_idx = d.train_idx, &val_idx = d.val_idx;
  ag::H5File f(o.export_batches, ag::H5File::Mode::Create);
  const int64_t per_epoch = static_cast<int64_t>(train_idx.size()) / o.batch;
  const bool full = o.export_steps < 0;
  const int64_t steps = full ? per_epoch * o.epochs : std::min(o.export_steps, per_epoch);
  std::vector<int64_t> epoch_ends, order;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t epoch = s / per_epoch, b = s % per_epoch;
    if (b == 0) order = ag::data::epoch_order(static_cast<int64_t>(train_idx.size()), o.seed, epoch);
    std::vector<int64_t> rows;
    for (int64_t i = b * o.batch; i < (b + 1) * o.batch; ++i) rows.push_back(train_idx[order[i]]);
    const Batch batch = make_batch(train_set, rows, config);
    f.write(fmt::format("/batches/{}/ids", s), batch.ids);
    f.write(fmt::format("/batches/{}/lengths", s), batch.lengths);
    f.write(fmt::format("/batches/{}/labels", s), batch.labels);
    if (b + 1 == per_epoch) epoch_ends.push_back(s + 1);
  }
  for (const auto& [name, tensor] : initial.state_dict()) f.write("/model/" + name, tensor);
  if (full) {
    f.write("/epoch_ends", ag::IntTensor(epoch_ends, {static_cast<int64_t>(epoch_ends.size())}));
    auto write_set = [&](const std::string& name, const Examples& set, const std::vector<int64_t>& rows) {
      const Batch all = make_batch(set, rows, config);
      f.write("/" + name + "/ids", all.ids);
      f.write("/" + name + "/lengths", all.lengths);
      f.write("/" + name + "/labels", all.labels);
    };
    write_set("val", train_set, val_idx);
    const Examples test = encode_all(load_split(o.data_dir, "test"), d.vocab);
    std::vector<int64_t> everyone(test.size());
    std::iota(everyone.begin(), everyone.end(), int64_t{0});
    write_set("test", test, everyone);
  }
  f.set_attr("/", "steps", steps);
  f.set_attr("/", "config", config.to_json());
  f.set_attr("/", "recipe", json{{"optimizer", o.optimizer}, {"lr", o.lr},           {"weight_decay", o.weight_decay},
                                 {"clip", o.clip},           {"batch", o.batch},     {"epochs", o.epochs},
                                 {"seed", o.seed},           {"schedule", o.schedule}, {"warmup", o.warmup},
                                 {"patience", o.patience},   {"min_delta", o.min_delta}}
                                .dump());
  f.close();
  fmt::print("wrote {} batches of {}{} to {}\n", steps, o.batch, full ? " (every epoch, with the validation and test sets)" : "",
             o.export_batches);
}

// The training reviews of one epoch after another, `batch` at a time in the order epoch_order
// gives (the last partial batch is dropped); of each batch, the rows of `shard` (this rank's part
// in a distributed run, else all).
class ReviewBatches : public ag::train::PlannedBatches<Batch> {
 public:
  ReviewBatches(const Examples& examples, const std::vector<int64_t>& rows, const TrainOptions& o,
                const ModelConfig& config, ag::dist::Shard shard)
      : PlannedBatches(o.seed), examples_(examples), rows_(rows), batch_(o.batch), config_(config), shard_(shard) {}

 private:
  int64_t plan(int64_t epoch) override {
    order_ = ag::data::epoch_order(static_cast<int64_t>(rows_.size()), state().shuffle_seed, epoch);
    return static_cast<int64_t>(rows_.size()) / batch_;
  }
  Batch make(int64_t b) override {
    std::vector<int64_t> rows(shard_.rows);
    for (int64_t i = 0; i < shard_.rows; ++i) rows[i] = rows_[order_[b * batch_ + shard_.offset + i]];
    return make_batch(examples_, rows, config_);
  }
  const Examples& examples_;
  const std::vector<int64_t>& rows_;
  int64_t batch_;
  const ModelConfig& config_;
  ag::dist::Shard shard_;
  std::vector<int64_t> order_;
};

// The run's options and model from last.h5 when resuming (o.resume_dir), else as given.
struct Run {
  TrainOptions o;
  ModelConfig config;
  std::optional<ag::train::Checkpoint> last;
  ag::train::Progress progress;
  json data;  // the resumed run's {"dir", "train_reviews"}, null when its config names none
};

Run open_run(const TrainOptions& given) {
  if (given.resume_dir.empty()) return {given, given.model, std::nullopt, {}, json()};
  ag::train::ResumePoint point =
      ag::train::read_resume_point(given.resume_dir, "imdb train", {"model", "train", "progress"});
  const json& run = point.config;
  try {
    Run r{option_table().from_json(run.at("train"), given), ModelConfig::from_json(run.at("model").dump()),
          std::move(point.last), {run.at("progress").at("best_val_accuracy"), run.at("progress").at("best_epoch")},
          run.value("data", json())};
    r.o.out_dir = given.resume_dir;
    fmt::print("resuming {}: epoch {}, batch {}, with the run's recipe ({}, lr {:g}, batch {}, seed {}) to epoch {}{}\n",
               point.path, r.last->data->epoch, r.last->data->position, r.o.optimizer, r.o.lr, r.o.batch, r.o.seed,
               r.o.epochs, given.epochs > 0 ? " (--epochs)" : "");
    return r;
  } catch (const std::exception& e) {  // a key missing (json) or a value out of range (ag::Error)
    throw ag::Error(fmt::format("--resume {}: {} is not a training checkpoint of imdb train: {}", given.resume_dir,
                                point.path, e.what()));
  }
}

}  // namespace

TrainOptions recipe(const std::string& name) {
  TrainOptions o;  // the article's
  if (name == "article") return o;
  ag::check(name == "default", "--recipe must be default or article, got '{}'", name);
  // Chosen on validation accuracy among the configurations of examples/imdb/README.md: dropout
  // where the model overfits, a larger batch (faster per token) with a higher rate decaying to 0,
  // and masking, which skips the padding and so is faster too.
  o.model.embed_dropout = 0.2f;
  o.model.lstm_dropout = 0.2f;
  o.model.dropout = 0.2f;
  o.model.mask = true;
  o.batch = 64;
  o.lr = 3e-3;
  o.schedule = "linear";
  o.epochs = 3;
  return o;
}

TrainResult train(const TrainOptions& given) {
  // One run per folder: the lock is taken before anything in the folder is read or written (for
  // a new run, once its options are known to be good, so a refused command line leaves no folder).
  // In a distributed run rank 0 holds it and alone writes there (ag::train::Trainer).
  const bool writer = !given.distributed || ag::dist::is_main();
  std::optional<ag::train::RunLock> lock;
  if (!given.resume_dir.empty() && writer) lock.emplace(given.resume_dir);
  Run run = open_run(given);
  TrainOptions& o = run.o;  // references, not a structured binding: the lambdas below capture them
  ModelConfig& config = run.config;
  if (o.epochs == 0) o.epochs = 5;
  option_table().check(o);
  if (!run.last && o.export_batches.empty() && writer) {
    lock.emplace(o.out_dir);
    ag::train::CheckpointManager::start_new_run(o.out_dir, o.overwrite);
  }
  ag::train::configure_run(o.threads, o.detect_anomaly, o.seed);
  const Data d = load_data(o, config, run.last, run.data);
  Classifier model(config);
  if (!o.export_batches.empty()) return export_batches(o, d, config, model), TrainResult{};
  std::unique_ptr<ag::optim::Optimizer> optimizer = make_optimizer(o, model);
  const auto scheduler = make_scheduler(o, *optimizer, o.epochs * (static_cast<int64_t>(d.train_idx.size()) / o.batch));
  ag::train::Trainer trainer(model, *optimizer, scheduler.get(),
                             {.run_dir = o.out_dir, .epochs = o.epochs, .save_every = o.save_every,
                              .stop_after_steps = o.stop_after_steps, .clip = o.clip, .monitor = "val_accuracy",
                              .mode = ag::train::Mode::Max, .columns = {"train_accuracy", "val_loss", "val_accuracy"},
                              .best_text = [](double v) { return fmt::format("val accuracy {:.2f}%", 100 * v); },
                              .distributed = o.distributed});
  trainer.run_config = [&](const ag::train::Progress& p) { return run_config(o, config, p, d); };
  trainer.vocab["words"] = d.vocab.tokens();
  if (run.last) trainer.resume(*run.last, run.progress);
  for (const auto& callback : o.callbacks) trainer.add_callback(callback);
  if (o.patience > 0)  // best.h5 keeps the best epoch; its weights come back into `model` for the test
    trainer.add_callback(std::make_shared<ag::train::EarlyStopping>("val_accuracy", o.patience, o.min_delta,
                                                                    ag::train::Mode::Max));
  fmt::print("{}", model.summary());
  // This rank's rows of each batch: all of them alone. Dropout draws the whole batch's masks and
  // keeps these rows' (BatchShardGuard), so N ranks drop what one process would.
  const ag::dist::Shard shard = trainer.distributed() ? ag::dist::shard(o.batch) : ag::dist::Shard{0, o.batch};
  ReviewBatches batches(d.examples, d.train_idx, o, config, shard);
  int64_t correct = 0, seen = 0;  // this epoch's training accuracy (this rank's rows)
  auto step = [&](const Batch& batch) {
    ag::BatchShardGuard rows(shard.offset, shard.rows, o.batch);
    const ag::Tensor logits = model.forward(batch.ids, batch.lengths).logits;
    for (int64_t i = 0; i < batch.size(); ++i) correct += (logits.data()[i] > 0) == (batch.labels.data()[i] > 0.5f);
    seen += batch.size();
    return ag::train::StepOutput{ag::binary_cross_entropy_with_logits(logits, batch.labels),
                                 static_cast<double>(batch.size()), static_cast<double>(batch.size() * config.maxlen)};
  };
  auto validate = [&] {
    const Evaluation val = trainer.distributed() ? evaluate_across_ranks(model, d.examples, d.val_idx, 256)
                                                 : evaluate(model, d.examples, d.val_idx, 256);
    double counts[2] = {static_cast<double>(correct), static_cast<double>(seen)};
    if (trainer.distributed()) ag::dist::allreduce_sum(counts, 2);
    const double accuracy = counts[1] > 0 ? counts[0] / counts[1] : 0;
    correct = seen = 0;  // the next epoch counts afresh
    return ag::train::Validation{{{"train_accuracy", accuracy}, {"val_loss", val.loss}, {"val_accuracy", val.accuracy}},
                                 fmt::format(" acc {:.2f}%, val loss {:.4f} acc {:.2f}%", 100 * accuracy, val.loss,
                                             100 * val.accuracy)};
  };
  const ag::train::FitResult fit = trainer.fit<Batch>(batches, step, validate, [&] {
    return fmt::format(" acc {:.1f}%", 100.0 * correct / seen);
  });
  TrainResult result{fit.progress.best, fit.progress.best_epoch, -1, fit.steps, fit.train_seconds,
                     fit.units_per_second, fit.stopped};
  if (!fit.stopped && o.test) result.test_accuracy = test_best(trainer, o, d, model, result);
  return result;
}

}  // namespace imdb
