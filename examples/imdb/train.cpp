#include "examples/imdb/train.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <optional>
#include <nlohmann/json.hpp>

#include "attograd/core/core.h"
#include "attograd/data/data_path.h"
#include "attograd/data/imdb.h"
#include "attograd/data/shuffle.h"
#include "examples/imdb/dataset.h"
#include "examples/imdb/evaluate.h"
#include "attograd/nn/hdf5.h"
#include "attograd/nn/serialize.h"
#include "attograd/nn/weight_decay.h"
#include "attograd/optim/adam.h"
#include "attograd/optim/clip.h"
#include "attograd/train/checkpoint_manager.h"
#include "attograd/train/finite.h"
#include "attograd/train/interrupt.h"
#include "attograd/train/metrics.h"
#include "attograd/train/progress.h"
#include "attograd/train/run_lock.h"
#include "attograd/train/usage_error.h"

namespace imdb {

namespace {

using json = nlohmann::json;

json options_json(const TrainOptions& o) {
  return {{"optimizer", o.optimizer}, {"lr", o.lr},       {"weight_decay", o.weight_decay},
          {"epochs", o.epochs},       {"batch", o.batch}, {"seed", o.seed},
          {"clip", o.clip},           {"save_every", o.save_every}, {"val_fraction", o.val_fraction},
          {"per_class", o.per_class}};
}

// Restores a run's options from its checkpoint: a resumed run keeps its own recipe. The command
// line may still change --epochs (where the run ends), where data comes from and the threads.
TrainOptions options_from_json(const json& j, const TrainOptions& given) {
  TrainOptions o = given;
  o.optimizer = j.at("optimizer");
  o.lr = j.at("lr");
  o.weight_decay = j.at("weight_decay");
  o.batch = j.at("batch");
  o.seed = j.at("seed");
  o.clip = j.at("clip");
  o.save_every = j.at("save_every");
  o.val_fraction = j.at("val_fraction");
  o.per_class = j.at("per_class");
  o.epochs = given.epochs > 0 ? given.epochs : j.at("epochs").get<int64_t>();
  return o;
}

// Bad numbers end the run before it starts, each named by its option: a usage error (exit 2).
void check_options(const TrainOptions& o) {
  using ag::train::check_usage;
  check_usage(std::isfinite(o.lr) && o.lr > 0, "--lr {} is not a positive learning rate", o.lr);
  check_usage(std::isfinite(o.weight_decay) && o.weight_decay >= 0, "--weight-decay {} is not a finite number >= 0",
              o.weight_decay);
  check_usage(o.epochs > 0, "--epochs {} is not a positive count", o.epochs);
  check_usage(o.batch > 0, "--batch {} is not a positive batch size", o.batch);
  check_usage(o.model.maxlen > 0, "--maxlen {} is not a positive length", o.model.maxlen);
  check_usage(o.model.dropout >= 0 && o.model.dropout < 1, "--dropout {} is not in [0, 1)", o.model.dropout);
  check_usage(std::isfinite(o.clip) && o.clip >= 0, "--clip {} is not a finite number >= 0 (0 turns clipping off)",
              o.clip);
  check_usage(o.threads >= 0 && o.threads <= ag::kMaxThreads, "--threads {} is not in [1, {}]", o.threads,
              ag::kMaxThreads);
  check_usage(o.save_every >= 0, "--save-every {} is negative (0: at epoch ends)", o.save_every);
  check_usage(o.val_fraction > 0 && o.val_fraction < 1,
              "--val-fraction {} is not in (0, 1): the best epoch is chosen on the validation reviews", o.val_fraction);
  check_usage(o.per_class >= 0, "--per-class {} is negative (0: every review)", o.per_class);
}

std::unique_ptr<ag::optim::Optimizer> make_optimizer(const TrainOptions& o, Classifier& model) {
  if (o.optimizer == "adam")
    return std::make_unique<ag::optim::Adam>(
        std::vector<ag::optim::ParamGroup>{{model.named_parameters(), o.lr, o.weight_decay}});
  if (o.optimizer == "adamw")
    return std::make_unique<ag::optim::AdamW>(ag::optim::decay_groups(model.named_parameters(), ag::nn::no_weight_decay(model), o.lr, o.weight_decay));
  throw ag::Error(fmt::format("--optimizer must be adam or adamw, got '{}'", o.optimizer));
}

// For bench/: what training would do, so bench/imdb_speed.cpp and bench/torch/imdb.py run the same
// steps. Writes the config, the initial model (/model/<name>), the next batches
// /batches/<s>/{ids, lengths, labels} as training makes them (export_steps of them, or every batch of
// every epoch when export_steps < 0, with /epoch_ends: the step count at which each epoch ends) and,
// for a full export, the validation and test sets as /val/* and /test/* (one batch each), so PyTorch
// can run the whole recipe on the identical data.
void export_batches(const TrainOptions& o, const Examples& train_set, const std::vector<int64_t>& train_idx,
                    const std::vector<int64_t>& val_idx, const ag::data::Vocab& vocab, const ModelConfig& config,
                    const Classifier& initial) {
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
    const TokenizedSplit test_split = load_split(o.data_dir, "test");
    const Examples test = encode_all(test_split.words, test_split.labels, vocab);
    std::vector<int64_t> everyone(test.size());
    std::iota(everyone.begin(), everyone.end(), int64_t{0});
    write_set("test", test, everyone);
  }
  f.set_attr("/", "steps", steps);
  f.set_attr("/", "config", config.to_json());
  f.set_attr("/", "recipe", json{{"optimizer", o.optimizer}, {"lr", o.lr}, {"weight_decay", o.weight_decay},
                                 {"clip", o.clip}, {"batch", o.batch}, {"epochs", o.epochs}, {"seed", o.seed}}
                                .dump());
  f.close();
  std::printf("wrote %lld batches of %lld%s to %s\n", static_cast<long long>(steps), static_cast<long long>(o.batch),
              full ? " (every epoch, with the validation and test sets)" : "", o.export_batches.c_str());
}

}  // namespace

TrainResult train(const TrainOptions& given) {
  TrainResult result;
  TrainOptions o = given;
  ModelConfig config = given.model;
  std::optional<ag::nn::Checkpoint> resume;
  json progress = {{"best_val_accuracy", -1.0}, {"best_epoch", -1}};
  json run_data;  // a resumed run's data: {"dir", "train_reviews"} (absent in runs from before it was kept)
  // One run per folder: the lock is taken before anything in the folder is read or written (for
  // a new run, once its options are known to be good, so a refused command line leaves no folder).
  std::optional<ag::train::RunLock> lock;
  if (!given.resume_dir.empty()) {
    lock.emplace(given.resume_dir);
    const auto last = std::filesystem::path(given.resume_dir) / "last.h5";
    resume = ag::nn::load_checkpoint(last.string());
    try {
      const json run = json::parse(resume->config);
      config = ModelConfig::from_json(run.at("model").dump());
      o = options_from_json(run.at("train"), given);
      progress = run.at("progress");
      run_data = run.value("data", json());
    } catch (const json::exception& e) {
      throw ag::Error(fmt::format("--resume {}: {} is not a training checkpoint of imdb train ({})",
                                  given.resume_dir, last.string(), e.what()));
    } catch (const ag::Error& e) {  // a model config out of range
      throw ag::Error(fmt::format("--resume {}: {}: {}", given.resume_dir, last.string(), e.what()));
    }
    o.out_dir = given.resume_dir;
    ag::check(resume->optimizer && resume->data, "--resume {}: {} holds no training state (a best.h5 copied there?)",
              given.resume_dir, last.string());
    std::printf("resuming %s: epoch %lld, batch %lld, with the run's recipe (%s, lr %g, batch %lld, seed %llu) to "
                "epoch %lld%s\n",
                last.c_str(), static_cast<long long>(resume->data->epoch), static_cast<long long>(resume->data->position),
                o.optimizer.c_str(), o.lr, static_cast<long long>(o.batch), static_cast<unsigned long long>(o.seed),
                static_cast<long long>(o.epochs), given.epochs > 0 ? " (--epochs)" : "");
  }
  if (o.epochs == 0) o.epochs = 5;
  check_options(o);
  if (!resume && o.export_batches.empty()) {
    lock.emplace(o.out_dir);
    ag::train::CheckpointManager::start_new_run(o.out_dir, o.overwrite);
  }
  if (o.threads > 0) ag::set_num_threads(o.threads);
  if (o.detect_anomaly) ag::set_detect_anomaly(true);
  ag::manual_seed(o.seed);

  // Data: the train split, its vocabulary, a held-out validation part. A resumed run reads the reviews
  // it started on, unless --data names another copy of them.
  if (!run_data.is_null()) o.data_dir = ag::data::data_flag_for_run(o.data_dir, run_data.at("dir"));
  const TokenizedSplit train_split = load_split(o.data_dir, "train", o.per_class);
  o.data_dir = train_split.root;  // the test split comes from the same folder
  if (o.test) ag::data::check_imdb_split(o.data_dir, "test");  // now, not after hours of training
  const ag::data::Vocab vocab = resume ? ag::data::Vocab::from_tokens(resume->vocab.at("words"), "<unk>")
                                       : build_vocab(train_split.words, config.vocab_size);
  config.vocab_size = vocab.size();
  const Examples examples = encode_all(train_split.words, train_split.labels, vocab);
  if (!run_data.is_null()) {
    const int64_t run_reviews = run_data.at("train_reviews");
    ag::check(run_reviews == examples.size(),
              "--resume {}: the run trained on {} reviews from {}, but {} has {}; pass --data with the run's data",
              o.resume_dir, run_reviews, run_data.at("dir").get<std::string>(), o.data_dir, examples.size());
  }
  const auto [train_idx, val_idx] = ag::data::split_validation(examples.size(), o.val_fraction, o.seed);
  ag::check(static_cast<int64_t>(train_idx.size()) >= o.batch, "{} training reviews is fewer than one batch of {}",
            train_idx.size(), o.batch);
  std::printf("imdb: %lld training and %lld validation reviews, vocabulary %lld, maxlen %lld%s\n",
              static_cast<long long>(train_idx.size()), static_cast<long long>(val_idx.size()),
              static_cast<long long>(vocab.size()), static_cast<long long>(config.maxlen), config.mask ? ", masked" : "");
  Classifier model(config);
  if (!o.export_batches.empty()) {
    export_batches(o, examples, train_idx, val_idx, vocab, config, model);
    return result;
  }
  std::unique_ptr<ag::optim::Optimizer> optimizer = make_optimizer(o, model);
  ag::nn::DataPosition position{0, 0, o.seed};
  ag::train::CheckpointManager checkpoints(o.out_dir);
  if (resume) {
    ag::nn::restore_checkpoint(*resume, model, optimizer.get());
    position = *resume->data;
    checkpoints.set_best(progress.at("best_val_accuracy").get<double>());
  }
  std::printf("%s", model.summary().c_str());

  const int64_t batches_per_epoch = static_cast<int64_t>(train_idx.size()) / o.batch;  // drop the last partial batch
  auto checkpoint = [&](const ag::nn::DataPosition& at, bool training_state) {
    ag::nn::Checkpoint c = training_state ? ag::nn::make_checkpoint(model, optimizer.get()) : ag::nn::make_checkpoint(model);
    if (training_state) c.data = at;
    c.config = json{{"model", json::parse(config.to_json())}, {"train", options_json(o)}, {"progress", progress},
                     {"data", {{"dir", o.data_dir}, {"train_reviews", examples.size()}}}}
                        .dump();
    c.vocab["words"] = vocab.tokens();
    return c;
  };
  ag::train::install_interrupt_handler();  // from here on, Ctrl-C saves last.h5 and stops
  ag::train::MetricsLog metrics(std::filesystem::path(o.out_dir) / "metrics.csv",
                                {"step", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "tokens_per_s"},
                                static_cast<double>(position.epoch * batches_per_epoch + position.position));

  model.train();
  for (int64_t epoch = position.epoch; epoch < o.epochs && !result.stopped; ++epoch) {
    const std::vector<int64_t> order = ag::data::epoch_order(static_cast<int64_t>(train_idx.size()), o.seed, epoch);
    const int64_t first = epoch == position.epoch ? position.position : 0;
    ag::train::ProgressBar bar(fmt::format("epoch {}/{}", epoch + 1, o.epochs), batches_per_epoch, "tok");
    double loss_sum = 0, epoch_seconds = 0;
    int64_t correct = 0, seen = 0;
    for (int64_t b = first; b < batches_per_epoch; ++b) {
      const auto step_start = std::chrono::steady_clock::now();
      std::vector<int64_t> rows(o.batch);
      for (int64_t i = 0; i < o.batch; ++i) rows[i] = train_idx[order[b * o.batch + i]];
      const Batch batch = make_batch(examples, rows, config);
      const ag::Tensor logits = model.forward(batch.ids, batch.lengths).logits;
      const ag::Tensor loss = ag::binary_cross_entropy_with_logits(logits, batch.labels);
      const int64_t step = epoch * batches_per_epoch + b + 1;
      ag::train::check_finite_loss(loss.item(), step);
      optimizer->zero_grad();
      loss.backward();
      ag::train::clip_and_check_gradients(model.named_parameters(), o.clip, step);
      optimizer->step();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      epoch_seconds += seconds;
      result.train_seconds += seconds;
      ++result.steps;

      loss_sum += loss.item() * static_cast<double>(o.batch);
      for (int64_t i = 0; i < o.batch; ++i) correct += (logits.data()[i] > 0) == (batch.labels.data()[i] > 0.5f);
      seen += o.batch;
      const double tokens = static_cast<double>(seen * config.maxlen);
      bar.update(b + 1, fmt::format("loss {:.4f} acc {:.1f}%", loss_sum / seen, 100.0 * correct / seen), tokens);
      const ag::nn::DataPosition here{epoch, b + 1, o.seed};
      const bool stop = ag::train::interrupted() || result.steps == o.stop_after_steps;
      if (stop || (o.save_every > 0 && result.steps % o.save_every == 0)) {
        ag::train::check_finite_weights(model.named_parameters(), step);
        checkpoints.save_last(checkpoint(here, true));
      }
      if (stop) {
        result.stopped = true;
        bar.finish("stopped; last.h5 holds the run");
        break;
      }
    }
    if (result.stopped) break;
    ag::train::check_finite_weights(model.named_parameters(), (epoch + 1) * batches_per_epoch);  // before validation picks them for best.h5
    const double tokens_per_s = epoch_seconds > 0 ? static_cast<double>(seen * config.maxlen) / epoch_seconds : 0;
    const Evaluation val = evaluate(model, examples, val_idx, 256);
    bar.finish(fmt::format("train loss {:.4f} acc {:.2f}%, val loss {:.4f} acc {:.2f}%, {} tok/s in steps",
                           seen ? loss_sum / seen : 0, seen ? 100.0 * correct / seen : 0, val.loss, 100 * val.accuracy,
                           ag::train::ProgressBar::format_count(tokens_per_s)));
    metrics.append({static_cast<double>((epoch + 1) * batches_per_epoch), static_cast<double>(epoch + 1),
                    seen ? loss_sum / seen : 0, seen ? static_cast<double>(correct) / seen : 0, val.loss, val.accuracy,
                    tokens_per_s});
    if (val.accuracy > checkpoints.best()) progress = {{"best_val_accuracy", val.accuracy}, {"best_epoch", epoch + 1}};
    checkpoints.save_if_best(checkpoint({}, false), val.accuracy);
    checkpoints.save_last(checkpoint({epoch + 1, 0, o.seed}, true));
  }
  result.best_val_accuracy = progress.at("best_val_accuracy");
  result.best_epoch = progress.at("best_epoch");
  result.tokens_per_second =
      result.train_seconds > 0 ? static_cast<double>(result.steps * o.batch * config.maxlen) / result.train_seconds : 0;
  if (result.stopped || !o.test) return result;

  // The test split, once, with the checkpoint chosen on validation.
  const ag::nn::Checkpoint best = ag::nn::load_checkpoint(checkpoints.best_path().string(), false);
  model.load_state_dict(best.model);
  const TokenizedSplit test_split = load_split(o.data_dir, "test");
  const Evaluation test = evaluate(model, encode_all(test_split.words, test_split.labels, vocab), {}, 256, true);
  result.test_accuracy = test.accuracy;
  std::printf("test: accuracy %.2f%% (loss %.4f) on %lld reviews with best.h5 (epoch %lld, val accuracy %.2f%%)\n",
              100 * test.accuracy, test.loss, static_cast<long long>(test.count), static_cast<long long>(result.best_epoch),
              100 * result.best_val_accuracy);
  return result;
}

}  // namespace imdb
