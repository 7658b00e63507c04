#include "examples/translate/train.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "attograd/core/core.h"
#include "attograd/data/data_path.h"
#include "attograd/data/parallel_corpus.h"
#include "attograd/nn/hdf5.h"
#include "attograd/optim/adam.h"
#include "attograd/optim/schedule.h"
#include "attograd/dist/dist.h"
#include "attograd/train/checkpoint_manager.h"
#include "attograd/train/run_checkpoint.h"
#include "attograd/train/option_table.h"
#include "attograd/train/run_lock.h"
#include "attograd/train/trainer.h"
#include "attograd/train/usage_error.h"
#include "examples/translate/dataset.h"
#include "examples/translate/evaluate.h"

namespace translate {

namespace {

using json = nlohmann::json;

// The options of a run: what its checkpoints keep (a resumed run keeps its own recipe; --epochs may
// move where it ends) and the values each may take. 0 means "the recipe's" where TrainOptions says
// so, and is resolved before the check.
const ag::train::OptionTable<TrainOptions>& option_table() {
  static const ag::train::OptionTable<TrainOptions> table = [] {
    using ag::train::above, ag::train::at_least, ag::train::in, ag::train::Ends;
    ag::train::OptionTable<TrainOptions> t;
    t.add("src_lang", &TrainOptions::src_lang);
    t.add("trg_lang", &TrainOptions::trg_lang);
    t.add("lr", &TrainOptions::lr, above(0));
    t.add("schedule", &TrainOptions::schedule, ag::train::Choices{{"inverse-sqrt", "linear", "constant"}})
        .optional();  // absent: the architecture's default schedule
    t.add("warmup", &TrainOptions::warmup, at_least(0));
    t.add("label_smoothing", &TrainOptions::label_smoothing, in(0, 1, Ends::OpenHigh));
    t.add("clip", &TrainOptions::clip, at_least(0), "0 turns clipping off");
    t.add("epochs", &TrainOptions::epochs, at_least(1)).may_change_on_resume();
    t.add("max_tokens", &TrainOptions::max_tokens, at_least(1));
    t.add("min_freq", &TrainOptions::min_freq, at_least(1));
    t.add("seed", &TrainOptions::seed);
    t.add("save_every", &TrainOptions::save_every, at_least(0), "0: at epoch ends");
    t.add("keep_epochs", &TrainOptions::keep_epochs, at_least(0)).optional();  // absent: no epoch<E>.h5
    t.add("val_limit", &TrainOptions::val_limit, at_least(0), "0: all");
    t.add("max_steps", &TrainOptions::max_steps, at_least(-1), "-1: every epoch");
    t.add("validate_bleu", &TrainOptions::validate_bleu);
    t.add("threads", &TrainOptions::threads, in(0, ag::kMaxThreads), "0: all cores").not_saved();
    return t;
  }();
  return table;
}

// Bad numbers end the run before it starts, each named by its option: a usage error (exit 2).
void check_options(const TrainOptions& o, const TranslationConfig& model) {
  using ag::train::check_usage;
  option_table().check(o);
  check_usage(model.arch != "transformer" || model.heads <= 0 || model.d_model % model.heads == 0,
              "--heads {} does not divide --d-model {}", model.heads, model.d_model);
  try {
    model.validate();
  } catch (const ag::Error& e) {
    throw ag::train::UsageError(e.what());
  }
}

ag::data::ParallelCorpus first(ag::data::ParallelCorpus c, int64_t n) {
  if (n > 0 && c.size() > n) c.source.resize(n), c.target.resize(n);
  return c;
}

// For bench/: what training would do next, so bench/translate_speed.cpp and bench/torch/translate.py
// run the same steps. The file is an eval-only checkpoint of the model training starts from (/model,
// /vocab, config), plus the next batches /batches/<s>/{src, src_lengths, trg_in, trg_out} as
// make_batch forms them, /tokens (s) (Batch::tokens: what tokens/s counts), /epoch_ends (the step
// count at which each exported epoch ends) and the recipe (optimizer, schedule, loss) as JSON.
void export_batches(const TrainOptions& o, const Pairs& pairs, const ag::train::DataPosition& from,
                    const ag::train::Checkpoint& start, const ag::optim::Optimizer& optimizer,
                    const ag::optim::Scheduler& scheduler, int64_t schedule_steps) {
  ag::H5File f(o.export_batches, ag::H5File::Mode::Create);
  f.set_attr("/", "format_version", ag::train::checkpoint_format_version);
  f.set_attr("/", "config", start.config);
  for (const auto& [name, tensor] : start.model) f.write("/model/" + name, tensor);
  for (const auto& [name, tokens] : start.vocab) f.write("/vocab/" + name, tokens);
  json recipe = {{"optimizer", optimizer.type_name()},       {"lr", o.lr},
                 {"schedule", scheduler.type_name()},        {"warmup", o.warmup},
                 {"total_steps", schedule_steps},
                 {"scheduler_step", scheduler.last_step()},  {"label_smoothing", o.label_smoothing},
                 {"ignore_index", kPad},                     {"clip", o.clip},
                 {"max_tokens", o.max_tokens},               {"seed", o.seed}};
  for (const auto& [name, value] : optimizer.hyper_parameters()) recipe[name] = value;
  std::vector<int64_t> tokens, epoch_ends;
  int64_t s = 0;
  for (int64_t epoch = from.epoch; epoch < o.epochs && s != o.export_steps; ++epoch) {
    const std::vector<std::vector<int64_t>> batches = epoch_batches(pairs, o.max_tokens, o.seed, epoch);
    const int64_t count = static_cast<int64_t>(batches.size());
    for (int64_t b = epoch == from.epoch ? from.position : 0; b < count && s != o.export_steps; ++b, ++s) {
      const Batch batch = make_batch(pairs, batches[b]);
      const std::string at = fmt::format("/batches/{}/", s);
      f.write(at + "src", batch.src);
      f.write(at + "src_lengths", batch.src_lengths);
      f.write(at + "trg_in", batch.trg_in);
      f.write(at + "trg_out", batch.trg_out);
      tokens.push_back(batch.tokens);
    }
    epoch_ends.push_back(s);
  }
  f.write("/tokens", ag::IntTensor(tokens, {s}));
  f.write("/epoch_ends", ag::IntTensor(epoch_ends, {static_cast<int64_t>(epoch_ends.size())}));
  f.set_attr("/", "steps", s);
  f.set_attr("/", "recipe", recipe.dump());
  f.close();
  fmt::print("wrote the initial model and {} batches ({} epochs from epoch {}) to {}\n", s, epoch_ends.size(), from.epoch,
             o.export_batches);
}

// The training pairs of one epoch after another, in the length-bucketed batches epoch_batches plans.
// Distributed, each rank takes its rows of every batch (ag::dist::shard of the batch's sentences).
class PairBatches : public ag::train::PlannedBatches<Batch> {
 public:
  PairBatches(const Pairs& pairs, const TrainOptions& o, bool distributed)
      : PlannedBatches(o.seed), pairs_(pairs), max_tokens_(o.max_tokens), distributed_(distributed) {}

 private:
  int64_t plan(int64_t epoch) override {
    batches_ = epoch_batches(pairs_, max_tokens_, state().shuffle_seed, epoch);
    return static_cast<int64_t>(batches_.size());
  }
  Batch make(int64_t b) override {
    const int64_t rows = static_cast<int64_t>(batches_[b].size());
    return make_batch(pairs_, batches_[b], distributed_ ? ag::dist::shard(rows) : ag::dist::Shard{0, rows});
  }
  const Pairs& pairs_;
  int64_t max_tokens_;
  bool distributed_;
  std::vector<std::vector<int64_t>> batches_;
};

// The run's options and model from last.h5 when resuming (o.resume_dir), else as given.
struct Run {
  TrainOptions o;
  TranslationConfig config;
  std::optional<ag::train::Checkpoint> last;
  ag::train::Progress progress;
  json data;  // the resumed run's {"dir", "train_pairs"}, null when its config names none
};

Run open_run(const TrainOptions& given) {
  if (given.resume_dir.empty()) return {given, given.model, std::nullopt, {}, json()};
  ag::train::ResumePoint point =
      ag::train::read_resume_point(given.resume_dir, "translate train", {"model", "train", "progress"});
  const json& run = point.config;
  try {
    Run r{option_table().from_json(run.at("train"), given), TranslationConfig::from_json(run.at("model").dump()),
          std::move(point.last), {run.at("progress").at("best_val_bleu"), run.at("progress").at("best_epoch")},
          run.value("data", json())};
    r.o.out_dir = given.resume_dir;
    fmt::print("resuming {}: epoch {}, batch {}, with the run's recipe (lr {:g}, {} schedule, seed {}) to epoch {}{}\n",
               point.path, r.last->data->epoch, r.last->data->position, r.o.lr,
               r.o.schedule.empty() ? "default" : r.o.schedule, r.o.seed, r.o.epochs,
               given.epochs > 0 ? " (--epochs)" : "");
    return r;
  } catch (const std::exception& e) {  // a key missing (json) or a value out of range (ag::Error)
    throw ag::Error(fmt::format("--resume {}: {} is not a training checkpoint of translate train: {}",
                                given.resume_dir, point.path, e.what()));
  }
}

// The measured Multi30k recipes (README: the transformer's is linear decay after warmup, an output
// tied to the target embedding and batches of 2048 tokens). A resumed run keeps its output layer.
void apply_recipe(TrainOptions& o, TranslationConfig& config, bool resumed) {
  const bool transformer = config.arch == "transformer";
  if (!resumed) config.tie_output = o.tie_output.value_or(config.tie_output || transformer);
  ag::check(!resumed || !o.tie_output || *o.tie_output == config.tie_output,
            "--resume {}: the run's output layer is {}; --{}tie-output cannot change it", o.resume_dir,
            config.tie_output ? "tied" : "untied", config.tie_output ? "no-" : "");
  if (o.lr == 0) o.lr = 1e-3;
  if (o.epochs == 0) o.epochs = transformer ? 16 : 10;
  if (o.max_tokens == 0) o.max_tokens = transformer ? 2048 : 4096;
  if (o.schedule.empty()) o.schedule = transformer ? "linear" : "constant";
  check_options(o, config);
}

// The corpus a run trains and validates on, and its vocabularies.
struct Data {
  std::string dir;
  ag::data::ParallelCorpus val_corpus;
  ag::data::Vocab src_vocab, trg_vocab;
  Pairs train_pairs, val_pairs;
};

// Train and val, with vocabularies of the training split (a resumed run's own). A resumed run reads
// the corpus it started on, unless --data names another copy of it. Sets the config's vocab sizes.
Data load_data(TrainOptions& o, TranslationConfig& config, const std::optional<ag::train::Checkpoint>& last,
               const json& run_data) {
  if (!run_data.is_null()) o.data_dir = ag::data::data_flag_for_run(o.data_dir, run_data.at("dir"));
  Data d;
  d.dir = std::filesystem::absolute(ag::data::find_multi30k(o.data_dir, o.src_lang)).string();
  const ag::data::ParallelCorpus train_corpus = ag::data::read_multi30k(d.dir, "train", o.src_lang, o.trg_lang);
  d.val_corpus = first(ag::data::read_multi30k(d.dir, "val", o.src_lang, o.trg_lang), o.val_limit);
  d.src_vocab = last ? ag::data::Vocab::from_tokens(last->vocab.at("src"), "<unk>")
                     : build_vocab(train_corpus.source, o.min_freq);
  d.trg_vocab = last ? ag::data::Vocab::from_tokens(last->vocab.at("trg"), "<unk>")
                     : build_vocab(train_corpus.target, o.min_freq);
  config.src_vocab = d.src_vocab.size();
  config.trg_vocab = d.trg_vocab.size();
  const int64_t max_len = config.arch == "transformer" ? config.max_len : 100000;
  d.train_pairs = encode_corpus(train_corpus, d.src_vocab, d.trg_vocab, max_len);
  d.val_pairs = encode_corpus(d.val_corpus, d.src_vocab, d.trg_vocab, max_len);
  fmt::print("translate {}-{}: {} training and {} validation pairs, vocabularies {} / {} (min_freq {})\n", o.src_lang,
             o.trg_lang, d.train_pairs.size(), d.val_pairs.size(), d.src_vocab.size(), d.trg_vocab.size(), o.min_freq);
  ag::check(d.train_pairs.size() > 0 && d.val_pairs.size() > 0, "no training or validation pairs in {}", d.dir);
  if (!run_data.is_null()) {
    const int64_t run_pairs = run_data.at("train_pairs");
    ag::check(run_pairs == d.train_pairs.size(),
              "--resume {}: the run trained on {} pairs from {}, but {} has {}; pass --data with the run's corpus",
              o.resume_dir, run_pairs, run_data.at("dir").get<std::string>(), d.dir, d.train_pairs.size());
  }
  return d;
}

// The transformer's Adam has the betas and eps of "Attention Is All You Need"; the rnn's, torch's defaults.
std::unique_ptr<ag::optim::Adam> make_optimizer(const TrainOptions& o, const TranslationConfig& config, Seq2Seq& model) {
  if (config.arch == "transformer")
    return std::make_unique<ag::optim::Adam>(model.named_parameters(), o.lr, ag::optim::Adam::Betas{0.9, 0.98}, 1e-9);
  return std::make_unique<ag::optim::Adam>(model.named_parameters(), o.lr);
}

// The run's schedule. Its last step, where the linear schedule reaches 0, counts each epoch's batches
// (bucketing makes them differ), planned only until --max-steps, so a huge --epochs costs nothing.
std::unique_ptr<ag::optim::Scheduler> make_scheduler(const TrainOptions& o, const Pairs& pairs,
                                                     ag::optim::Optimizer& optimizer, int64_t& schedule_steps) {
  schedule_steps = 0;
  for (int64_t epoch = 0; epoch < o.epochs && (o.max_steps < 0 || schedule_steps < o.max_steps); ++epoch)
    schedule_steps += static_cast<int64_t>(epoch_batches(pairs, o.max_tokens, o.seed, epoch).size());
  if (o.max_steps >= 0) schedule_steps = std::min(schedule_steps, o.max_steps);
  if (o.schedule == "inverse-sqrt") return std::make_unique<ag::optim::InverseSqrt>(optimizer, o.warmup);
  if (o.schedule == "constant") return std::make_unique<ag::optim::ConstantLR>(optimizer);
  ag::check(o.warmup >= 0 && o.warmup < schedule_steps,
            "--warmup {} must be below the run's {} steps for --schedule linear", o.warmup, schedule_steps);
  return std::make_unique<ag::optim::WarmupLinear>(optimizer, o.warmup, schedule_steps);
}

// The config each checkpoint carries: what resuming, evaluating and predicting need.
std::string run_config(const TrainOptions& o, const TranslationConfig& config, const ag::train::Progress& p,
                       const Data& d) {
  return json{{"model", json::parse(config.to_json())},
              {"train", option_table().to_json(o)},
              {"progress", {{"best_val_bleu", p.best}, {"best_epoch", p.best_epoch}}},
              {"data", {{"dir", d.dir}, {"train_pairs", d.train_pairs.size()}}},
              {"languages", {{"src", o.src_lang}, {"trg", o.trg_lang}}}}
      .dump();
}

}  // namespace

TrainResult train(const TrainOptions& given) {
  // One run per folder: the lock is taken before anything in the folder is read or written (for
  // a new run, once its options are known to be good, so a refused command line leaves no folder).
  // In a distributed run rank 0 holds it and alone writes there (ag::train::Trainer).
  const bool writer = !given.distributed || ag::dist::is_main();
  std::optional<ag::train::RunLock> lock;
  if (!given.resume_dir.empty() && writer) lock.emplace(given.resume_dir);
  Run run = open_run(given);
  TrainOptions& o = run.o;  // references, not a structured binding: the lambdas below capture them
  TranslationConfig& config = run.config;
  ag::train::configure_run(o.threads, o.detect_anomaly, o.seed);
  apply_recipe(o, config, run.last.has_value());
  if (!run.last && o.export_batches.empty() && writer) {
    lock.emplace(o.out_dir);
    ag::train::CheckpointManager::start_new_run(o.out_dir, o.overwrite);
  }
  const Data d = load_data(o, config, run.last, run.data);
  std::shared_ptr<Seq2Seq> model = make_model(config);
  const std::unique_ptr<ag::optim::Adam> optimizer = make_optimizer(o, config, *model);
  int64_t schedule_steps = 0;
  const std::unique_ptr<ag::optim::Scheduler> scheduler = make_scheduler(o, d.train_pairs, *optimizer, schedule_steps);
  ag::train::Trainer trainer(*model, *optimizer, scheduler.get(),
                             {.run_dir = o.out_dir, .epochs = o.epochs, .max_steps = o.max_steps,
                              .save_every = o.save_every, .stop_after_steps = o.stop_after_steps,
                              .keep_epochs = o.keep_epochs, .clip = o.clip, .monitor = "val_bleu",
                              .mode = ag::train::Mode::Max,
                              .columns = {"val_loss", "val_perplexity", "val_bleu", "lr"},
                              .best_text = [](double v) { return fmt::format("val BLEU {:.2f}", v); },
                              .distributed = o.distributed});
  for (const auto& callback : o.callbacks) trainer.add_callback(callback);
  trainer.run_config = [&](const ag::train::Progress& p) { return run_config(o, config, p, d); };
  trainer.vocab = {{"src", d.src_vocab.tokens()}, {"trg", d.trg_vocab.tokens()}};
  if (run.last) trainer.resume(*run.last, run.progress);
  fmt::print("{}", model->summary());
  if (!o.export_batches.empty())
    return export_batches(o, d.train_pairs, run.last ? *run.last->data : ag::train::DataPosition{0, 0, o.seed},
                          trainer.checkpoint(std::nullopt), *optimizer, *scheduler, schedule_steps),
           TrainResult{};
  const bool together = trainer.distributed();
  PairBatches batches(d.train_pairs, o, together);
  double last_val_loss = 0, last_val_bleu = 0;
  auto step = [&](const Batch& batch) {
    // Dropout draws the whole batch's masks and keeps this rank's rows (one process's masks).
    ag::BatchShardGuard rows(batch.offset, batch.size(), batch.total);
    const ag::Tensor logits = model->forward(batch.src, batch.src_lengths, batch.trg_in);
    int64_t target_tokens = 0;
    for (int64_t i = 0; i < batch.trg_out.numel(); ++i) target_tokens += batch.trg_out.data()[i] != kPad;
    return ag::train::StepOutput{ag::cross_entropy(logits, batch.trg_out, kPad, static_cast<float>(o.label_smoothing)),
                                 static_cast<double>(target_tokens), static_cast<double>(batch.tokens)};
  };
  auto validate = [&] {
    const LossResult val = evaluate_loss(*model, d.val_pairs, o.max_tokens, together);
    last_val_loss = val.loss;
    last_val_bleu = o.validate_bleu
                        ? evaluate_bleu(*model, d.src_vocab, d.trg_vocab, d.val_corpus, 1, 64, false, together).bleu.score
                        : 0;
    return ag::train::Validation{
        {{"val_loss", val.loss}, {"val_perplexity", val.perplexity}, {"val_bleu", last_val_bleu}, {"lr", scheduler->lr()}},
        fmt::format(", val loss {:.4f} ppl {:.2f} BLEU {:.2f}", val.loss, val.perplexity, last_val_bleu)};
  };
  const ag::train::FitResult fit =
      trainer.fit<Batch>(batches, step, validate, [&] { return fmt::format(" lr {:.2e}", scheduler->lr()); });
  return {fit.progress.best, fit.progress.best_epoch, last_val_loss, last_val_bleu, fit.steps, fit.train_seconds,
          fit.units_per_second, fit.stopped};
}

}  // namespace translate
