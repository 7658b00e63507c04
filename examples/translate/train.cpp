#include "examples/translate/train.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "attograd/core/core.h"
#include "attograd/data/data_path.h"
#include "attograd/data/parallel_corpus.h"
#include "examples/translate/dataset.h"
#include "examples/translate/evaluate.h"
#include "attograd/nn/hdf5.h"
#include "attograd/train/run_checkpoint.h"
#include "attograd/optim/adam.h"
#include "attograd/optim/clip.h"
#include "attograd/optim/schedule.h"
#include "attograd/train/checkpoint_manager.h"
#include "attograd/train/finite.h"
#include "attograd/train/interrupt.h"
#include "attograd/train/metrics.h"
#include "attograd/train/progress.h"
#include "attograd/train/run_lock.h"
#include "attograd/train/usage_error.h"

namespace translate {

namespace {

using json = nlohmann::json;

json options_json(const TrainOptions& o) {
  return {{"src_lang", o.src_lang},     {"trg_lang", o.trg_lang},   {"lr", o.lr},
          {"schedule", o.schedule},     {"warmup", o.warmup},         {"label_smoothing", o.label_smoothing},
          {"clip", o.clip},             {"epochs", o.epochs},       {"max_tokens", o.max_tokens},
          {"min_freq", o.min_freq},     {"seed", o.seed},           {"save_every", o.save_every},
          {"keep_epochs", o.keep_epochs},
          {"val_limit", o.val_limit},   {"max_steps", o.max_steps}, {"validate_bleu", o.validate_bleu}};
}

// Restores a run's options from its checkpoint: a resumed run keeps its own recipe. The command
// line may still change --epochs (where the run ends), where data comes from and the threads.
TrainOptions options_from_json(const json& j, const TrainOptions& given) {
  TrainOptions o = given;
  o.src_lang = j.at("src_lang");
  o.trg_lang = j.at("trg_lang");
  o.lr = j.at("lr");
  o.schedule = j.value("schedule", "");  // runs from before --schedule had the per-arch default
  o.warmup = j.at("warmup");
  o.label_smoothing = j.at("label_smoothing");
  o.clip = j.at("clip");
  o.max_tokens = j.at("max_tokens");
  o.min_freq = j.at("min_freq");
  o.seed = j.at("seed");
  o.save_every = j.at("save_every");
  o.val_limit = j.at("val_limit");
  o.keep_epochs = j.value("keep_epochs", int64_t{0});  // absent in runs from before the option
  o.max_steps = j.at("max_steps");
  o.validate_bleu = j.at("validate_bleu");
  o.epochs = given.epochs > 0 ? given.epochs : j.at("epochs").get<int64_t>();
  return o;
}

// Bad numbers end the run before it starts, each named by its option: a usage error (exit 2). 0
// means "the recipe's" where TrainOptions says so, and is resolved before this.
void check_options(const TrainOptions& o, const TranslationConfig& model) {
  using ag::train::check_usage;
  check_usage(std::isfinite(o.lr) && o.lr > 0, "--lr {} is not a positive learning rate", o.lr);
  check_usage(o.epochs > 0, "--epochs {} is not a positive count", o.epochs);
  check_usage(o.max_tokens > 0, "--max-tokens {} is not a positive token count", o.max_tokens);
  check_usage(o.warmup >= 0, "--warmup {} is negative", o.warmup);
  check_usage(o.label_smoothing >= 0 && o.label_smoothing < 1, "--label-smoothing {} is not in [0, 1)",
              o.label_smoothing);
  check_usage(std::isfinite(o.clip) && o.clip >= 0, "--clip {} is not a finite number >= 0 (0 turns clipping off)",
              o.clip);
  check_usage(o.min_freq >= 1, "--min-freq {} is below 1", o.min_freq);
  check_usage(o.threads >= 0 && o.threads <= ag::kMaxThreads, "--threads {} is not in [1, {}]", o.threads,
              ag::kMaxThreads);
  check_usage(o.save_every >= 0, "--save-every {} is negative (0: at epoch ends)", o.save_every);
  check_usage(o.keep_epochs >= 0, "--keep-epochs {} is negative", o.keep_epochs);
  check_usage(o.val_limit >= 0, "--val-limit {} is negative (0: all)", o.val_limit);
  check_usage(o.max_steps >= -1, "--max-steps {} is below -1 (-1: every epoch)", o.max_steps);
  check_usage(o.schedule.empty() || o.schedule == "inverse-sqrt" || o.schedule == "linear" || o.schedule == "constant",
              "--schedule {} is not inverse-sqrt, linear or constant", o.schedule);
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
  std::printf("wrote the initial model and %lld batches (%lld epochs from epoch %lld) to %s\n",
              static_cast<long long>(s), static_cast<long long>(epoch_ends.size()),
              static_cast<long long>(from.epoch), o.export_batches.c_str());
}

}  // namespace

TrainResult train(const TrainOptions& given) {
  TrainResult result;
  TrainOptions o = given;
  TranslationConfig config = given.model;
  std::optional<ag::train::Checkpoint> resume;
  json progress = {{"best_val_bleu", -1.0}, {"best_epoch", -1}};
  json run_data;  // a resumed run's corpus: {"dir", "train_pairs"} (absent in runs from before it was kept)
  // One run per folder: the lock is taken before anything in the folder is read or written (for
  // a new run, once its options are known to be good, so a refused command line leaves no folder).
  std::optional<ag::train::RunLock> lock;
  if (!given.resume_dir.empty()) {
    lock.emplace(given.resume_dir);
    const auto last = std::filesystem::path(given.resume_dir) / "last.h5";
    resume = ag::train::load_checkpoint(last.string());
    try {
      const json run = json::parse(resume->config);
      config = TranslationConfig::from_json(run.at("model").dump());
      o = options_from_json(run.at("train"), given);
      progress = run.at("progress");
      run_data = run.value("data", json());
    } catch (const json::exception& e) {
      throw ag::Error(fmt::format("--resume {}: {} is not a training checkpoint of translate train ({})",
                                  given.resume_dir, last.string(), e.what()));
    } catch (const ag::Error& e) {  // a model config out of range
      throw ag::Error(fmt::format("--resume {}: {}: {}", given.resume_dir, last.string(), e.what()));
    }
    o.out_dir = given.resume_dir;
    ag::check(resume->optimizer && resume->data, "--resume {}: {} holds no training state (a best.h5 copied there?)",
              given.resume_dir, last.string());
    std::printf("resuming %s: epoch %lld, batch %lld, with the run's recipe (lr %g, %s schedule, seed %llu) to epoch "
                "%lld%s\n",
                last.c_str(), static_cast<long long>(resume->data->epoch), static_cast<long long>(resume->data->position),
                o.lr, o.schedule.empty() ? "default" : o.schedule.c_str(), static_cast<unsigned long long>(o.seed),
                static_cast<long long>(o.epochs), given.epochs > 0 ? " (--epochs)" : "");
  }
  if (o.threads > 0) ag::set_num_threads(o.threads);
  if (o.detect_anomaly) ag::set_detect_anomaly(true);
  ag::manual_seed(o.seed);
  const bool transformer = config.arch == "transformer";
  // The measured Multi30k recipes (README). The transformer's linear decay scored 36.2 val BLEU
  // against 35.6 for inverse-sqrt at 7e-4, which leaves the lr at half its peak after 16 epochs.
  // Tying the output to the target embedding raised that to 37.1, and with batches of 2048 tokens
  // (twice the steps) to 37.9; 2048 tokens untied (at lr 7e-4) gave 36.1.
  if (!resume) config.tie_output = o.tie_output.value_or(config.tie_output || transformer);
  ag::check(!resume || !o.tie_output || *o.tie_output == config.tie_output,
            "--resume {}: the run's output layer is {}; --{}tie-output cannot change it",
            o.resume_dir, config.tie_output ? "tied" : "untied", config.tie_output ? "no-" : "");
  if (o.lr == 0) o.lr = 1e-3;
  if (o.epochs == 0) o.epochs = transformer ? 16 : 10;
  if (o.max_tokens == 0) o.max_tokens = transformer ? 2048 : 4096;
  check_options(o, config);
  if (o.schedule.empty()) o.schedule = transformer ? "linear" : "constant";
  if (!resume && o.export_batches.empty()) {
    lock.emplace(o.out_dir);
    ag::train::CheckpointManager::start_new_run(o.out_dir, o.overwrite);
  }

  // Data: train and val, vocabularies of the training split. A resumed run reads the corpus it started
  // on, unless --data names another copy of it.
  if (!run_data.is_null()) o.data_dir = ag::data::data_flag_for_run(o.data_dir, run_data.at("dir"));
  const std::string dir = std::filesystem::absolute(ag::data::find_multi30k(o.data_dir, o.src_lang)).string();
  const ag::data::ParallelCorpus train_corpus = ag::data::read_multi30k(dir, "train", o.src_lang, o.trg_lang);
  const ag::data::ParallelCorpus val_corpus =
      first(ag::data::read_multi30k(dir, "val", o.src_lang, o.trg_lang), o.val_limit);
  const ag::data::Vocab src_vocab = resume ? ag::data::Vocab::from_tokens(resume->vocab.at("src"), "<unk>")
                                           : build_vocab(train_corpus.source, o.min_freq);
  const ag::data::Vocab trg_vocab = resume ? ag::data::Vocab::from_tokens(resume->vocab.at("trg"), "<unk>")
                                           : build_vocab(train_corpus.target, o.min_freq);
  config.src_vocab = src_vocab.size();
  config.trg_vocab = trg_vocab.size();
  const int64_t max_len = transformer ? config.max_len : 100000;
  const Pairs train_pairs = encode_corpus(train_corpus, src_vocab, trg_vocab, max_len);
  const Pairs val_pairs = encode_corpus(val_corpus, src_vocab, trg_vocab, max_len);
  std::printf("translate %s-%s: %lld training and %lld validation pairs, vocabularies %lld / %lld (min_freq %lld)\n",
              o.src_lang.c_str(), o.trg_lang.c_str(), static_cast<long long>(train_pairs.size()),
              static_cast<long long>(val_pairs.size()), static_cast<long long>(src_vocab.size()),
              static_cast<long long>(trg_vocab.size()), static_cast<long long>(o.min_freq));
  ag::check(train_pairs.size() > 0 && val_pairs.size() > 0, "no training or validation pairs in {}", dir);
  if (!run_data.is_null()) {
    const int64_t run_pairs = run_data.at("train_pairs");
    ag::check(run_pairs == train_pairs.size(),
              "--resume {}: the run trained on {} pairs from {}, but {} has {}; pass --data with the run's corpus",
              o.resume_dir, run_pairs, run_data.at("dir").get<std::string>(), dir, train_pairs.size());
  }

  std::shared_ptr<Seq2Seq> model = make_model(config);
  auto optimizer = transformer ? std::make_unique<ag::optim::Adam>(model->named_parameters(), o.lr,
                                                                   ag::optim::Adam::Betas{0.9, 0.98}, 1e-9)
                               : std::make_unique<ag::optim::Adam>(model->named_parameters(), o.lr);
  // The run's last step, where the linear schedule reaches 0 (bucketing makes epochs' batch counts
  // differ). Epochs are planned only until --max-steps is reached, so a huge --epochs costs nothing.
  int64_t schedule_steps = 0;
  for (int64_t epoch = 0; epoch < o.epochs && (o.max_steps < 0 || schedule_steps < o.max_steps); ++epoch)
    schedule_steps += static_cast<int64_t>(epoch_batches(train_pairs, o.max_tokens, o.seed, epoch).size());
  if (o.max_steps >= 0) schedule_steps = std::min(schedule_steps, o.max_steps);
  std::unique_ptr<ag::optim::Scheduler> scheduler;
  if (o.schedule == "inverse-sqrt") {
    scheduler = std::make_unique<ag::optim::InverseSqrt>(*optimizer, o.warmup);
  } else if (o.schedule == "linear") {
    ag::check(o.warmup >= 0 && o.warmup < schedule_steps,
              "--warmup {} must be below the run's {} steps for --schedule linear", o.warmup, schedule_steps);
    scheduler = std::make_unique<ag::optim::WarmupLinear>(*optimizer, o.warmup, schedule_steps);
  } else {
    scheduler = std::make_unique<ag::optim::ConstantLR>(*optimizer);
  }
  ag::train::DataPosition position{0, 0, o.seed};
  ag::train::CheckpointManager checkpoints(o.out_dir);
  if (resume) {
    ag::train::restore_checkpoint(*resume, *model, optimizer.get(), scheduler.get());
    position = *resume->data;
    checkpoints.set_best(progress.at("best_val_bleu").get<double>());
  }
  std::printf("%s", model->summary().c_str());

  auto checkpoint = [&](const ag::train::DataPosition& at, bool training_state) {
    ag::train::Checkpoint c = training_state ? ag::train::make_checkpoint(*model, optimizer.get(), scheduler.get())
                                          : ag::train::make_checkpoint(*model);
    if (training_state) c.data = at;
    c.config = json{{"model", json::parse(config.to_json())},
                    {"train", options_json(o)},
                    {"progress", progress},
                    {"data", {{"dir", dir}, {"train_pairs", train_pairs.size()}}},
                    {"languages", {{"src", o.src_lang}, {"trg", o.trg_lang}}}}
                   .dump();
    c.vocab["src"] = src_vocab.tokens();
    c.vocab["trg"] = trg_vocab.tokens();
    return c;
  };
  if (!o.export_batches.empty()) {
    export_batches(o, train_pairs, position, checkpoint({}, false), *optimizer, *scheduler, schedule_steps);
    return result;
  }
  int64_t total_steps = scheduler->last_step();
  double all_tokens = 0;
  ag::train::install_interrupt_handler();  // from here on, Ctrl-C saves last.h5 and stops
  ag::train::MetricsLog metrics(std::filesystem::path(o.out_dir) / "metrics.csv",
                                {"step", "epoch", "train_loss", "val_loss", "val_perplexity", "val_bleu", "lr",
                                 "tokens_per_s"},
                                resume ? static_cast<double>(total_steps) : -1);

  model->train();
  bool done = false;
  for (int64_t epoch = position.epoch; epoch < o.epochs && !result.stopped && !done; ++epoch) {
    const std::vector<std::vector<int64_t>> batches = epoch_batches(train_pairs, o.max_tokens, o.seed, epoch);
    const int64_t count = static_cast<int64_t>(batches.size());
    const int64_t first_batch = epoch == position.epoch ? position.position : 0;
    ag::train::ProgressBar bar(fmt::format("epoch {}/{}", epoch + 1, o.epochs), count, "tok");
    double loss_sum = 0, epoch_seconds = 0;
    int64_t loss_tokens = 0, tokens = 0;
    for (int64_t b = first_batch; b < count; ++b) {
      const auto step_start = std::chrono::steady_clock::now();
      const Batch batch = make_batch(train_pairs, batches[b]);
      const ag::Tensor logits = model->forward(batch.src, batch.src_lengths, batch.trg_in);
      const ag::Tensor loss =
          ag::cross_entropy(logits, batch.trg_out, kPad, static_cast<float>(o.label_smoothing));
      ag::train::check_finite_loss(loss.item(), total_steps + 1);
      optimizer->zero_grad();
      loss.backward();
      ag::train::clip_and_check_gradients(model->named_parameters(), o.clip, total_steps + 1);
      optimizer->step();
      scheduler->step();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      epoch_seconds += seconds;
      result.train_seconds += seconds;
      ++result.steps;
      ++total_steps;

      int64_t target_tokens = 0;
      for (int64_t i = 0; i < batch.trg_out.numel(); ++i) target_tokens += batch.trg_out.data()[i] != kPad;
      loss_sum += loss.item() * static_cast<double>(target_tokens);
      loss_tokens += target_tokens;
      tokens += batch.tokens;
      all_tokens += static_cast<double>(batch.tokens);
      bar.update(b + 1, fmt::format("loss {:.4f} lr {:.2e}", loss_sum / loss_tokens, scheduler->lr()),
                 static_cast<double>(tokens));
      const ag::train::DataPosition here{epoch, b + 1, o.seed};
      done = o.max_steps >= 0 && total_steps >= o.max_steps;
      const bool stop = !done && (ag::train::interrupted() || result.steps == o.stop_after_steps);
      if (stop || (o.save_every > 0 && result.steps % o.save_every == 0)) {
        ag::train::check_finite_weights(model->named_parameters(), total_steps);
        checkpoints.save_last(checkpoint(here, true));
      }
      if (stop) {
        result.stopped = true;
        bar.finish("stopped; last.h5 holds the run");
        break;
      }
      if (done) {
        position = here;
        break;
      }
    }
    if (result.stopped) break;
    ag::train::check_finite_weights(model->named_parameters(), total_steps);  // before validation picks them for best.h5
    const double tokens_per_s = epoch_seconds > 0 ? static_cast<double>(tokens) / epoch_seconds : 0;
    const LossResult val = evaluate_loss(*model, val_pairs, o.max_tokens);
    double bleu = 0;
    if (o.validate_bleu) bleu = evaluate_bleu(*model, src_vocab, trg_vocab, val_corpus).bleu.score;
    result.last_val_loss = val.loss;
    result.last_val_bleu = bleu;
    bar.finish(fmt::format("train loss {:.4f}, val loss {:.4f} ppl {:.2f} BLEU {:.2f}, {} tok/s in steps",
                           loss_tokens ? loss_sum / loss_tokens : 0, val.loss, val.perplexity, bleu,
                           ag::train::ProgressBar::format_count(tokens_per_s)));
    metrics.append({static_cast<double>(total_steps), static_cast<double>(epoch + 1),
                    loss_tokens ? loss_sum / loss_tokens : 0, val.loss, val.perplexity, bleu, scheduler->lr(),
                    tokens_per_s});
    if (bleu > checkpoints.best()) progress = {{"best_val_bleu", bleu}, {"best_epoch", epoch + 1}};
    checkpoints.save_if_best(checkpoint({}, false), bleu);
    const ag::train::DataPosition next = done ? position : ag::train::DataPosition{epoch + 1, 0, o.seed};
    checkpoints.save_last(checkpoint(next, true));
    if (o.keep_epochs > 0) {  // the newest keep_epochs epoch<E>.h5, for translate average
      ag::train::save_checkpoint((checkpoints.dir() / fmt::format("epoch{}.h5", epoch + 1)).string(),
                              checkpoint({}, false));
      std::filesystem::remove(checkpoints.dir() / fmt::format("epoch{}.h5", epoch + 1 - o.keep_epochs));
    }
  }
  result.best_val_bleu = progress.at("best_val_bleu");
  result.best_epoch = progress.at("best_epoch");
  result.tokens_per_second = result.train_seconds > 0 ? all_tokens / result.train_seconds : 0;
  return result;
}

}  // namespace translate
