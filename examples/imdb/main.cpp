// imdb: train, evaluate and explain the classic Keras IMDB attention classifier on attograd.
//
//   imdb train   [--data DIR] [--out RUN_DIR] [--resume RUN_DIR] [--mask] [--epochs 5] ...
//   imdb eval    --checkpoint RUN_DIR/best.h5 [--data DIR]
//   imdb predict --checkpoint RUN_DIR/best.h5 [TEXT...] [--explain page.html]   (or lines on stdin)
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "attograd/core/core.h"
#include "attograd/data/data_path.h"
#include "attograd/data/tokenizer.h"
#include "examples/imdb/dataset.h"
#include "examples/imdb/evaluate.h"
#include "examples/imdb/predict.h"
#include "examples/imdb/train.h"
#include "attograd/nn/hdf5.h"
#include "attograd/nn/sealed_file.h"
#include "attograd/dist/dist.h"
#include "attograd/train/run_checkpoint.h"
#include "attograd/train/checkpoint_manager.h"
#include "attograd/train/command_line.h"
#include "attograd/train/interrupt.h"
#include "attograd/train/profile_run.h"

namespace {

// The model, its vocabulary and config, from a checkpoint (nothing else is needed).
struct Loaded {
  std::unique_ptr<imdb::Classifier> model;
  ag::data::Vocab vocab;
  std::string data_dir;  // the aclImdb folder the run trained on ("" when the config names none)
};

Loaded load_model(const std::string& path) {
  const ag::train::Checkpoint c = ag::train::load_checkpoint(path, /*training_state=*/false);
  const auto run = nlohmann::json::parse(c.config, nullptr, /*allow_exceptions=*/false);
  ag::check(run.is_object() && run.contains("model") && c.vocab.count("words") == 1,
            "{} has no model config or vocabulary (/vocab/words); was it written by imdb train?", path);
  imdb::ModelConfig config;
  try {
    config = imdb::ModelConfig::from_json(run.at("model").dump());
  } catch (const ag::Error& e) {
    throw ag::Error(fmt::format("{}: {}", path, e.what()));
  }
  const int64_t words = static_cast<int64_t>(c.vocab.at("words").size());
  ag::check(words == config.vocab_size,
            "{} is inconsistent: its vocabulary has {} words but its model config (and embedding) {} ids", path, words,
            config.vocab_size);
  std::string data_dir;
  try {
    if (run.contains("data")) data_dir = run.at("data").value("dir", "");
  } catch (const nlohmann::json::exception& e) {
    throw ag::Error(fmt::format("{}: the run's config is damaged ({})", path, e.what()));
  }
  Loaded out{std::make_unique<imdb::Classifier>(config), ag::data::Vocab::from_tokens(c.vocab.at("words"), "<unk>"),
             data_dir};
  out.model->load_state_dict(c.model);
  return out;
}

// Writes the encoded test inputs and attograd's probabilities, for bench/torch/imdb.py's parity check.
void write_predictions(const std::string& path, const imdb::Examples& examples, const imdb::ModelConfig& config,
                       const std::vector<float>& probabilities) {
  std::vector<int64_t> all(examples.size());
  for (int64_t i = 0; i < examples.size(); ++i) all[i] = i;
  const imdb::Batch batch = imdb::make_batch(examples, all, config);
  ag::H5File f(path, ag::H5File::Mode::Create);
  f.write("/ids", batch.ids);
  f.write("/lengths", batch.lengths);
  f.write("/probabilities", ag::from_data(probabilities, {examples.size()}));
  f.close();
  fmt::print("wrote the test inputs and predictions to {}\n", path);
}

int run_eval(const std::string& checkpoint, const std::string& data, int64_t batch, const std::string& predictions) {
  Loaded m = load_model(checkpoint);
  const imdb::Examples examples =
      imdb::encode_all(imdb::load_split(ag::data::data_flag_for_run(data, m.data_dir), "test"), m.vocab);
  std::vector<float> probabilities;
  const imdb::Evaluation e = imdb::evaluate(*m.model, examples, {}, batch, /*show_progress=*/true, &probabilities);
  if (!predictions.empty()) write_predictions(predictions, examples, m.model->config(), probabilities);
  fmt::print("test split: {} reviews\n  loss      {:.4f}\n  accuracy  {:.2f}%\n", e.count, e.loss, 100 * e.accuracy);
  fmt::print("  confusion matrix (rows: actual, columns: predicted)\n");
  fmt::print("              negative  positive\n  negative  {:10}{:10}\n  positive  {:10}{:10}\n", e.true_negative,
             e.false_positive, e.false_negative, e.true_positive);
  fmt::print("  {:.0f} tokens/s ({:.1f} s)\n", e.tokens_per_second, e.seconds);
  return 0;
}

// The first `max_bytes` bytes of `text` or less, cut between UTF-8 characters, with "..." when cut.
std::string preview(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = 0;
  while (end < text.size()) {
    const size_t length = std::max<size_t>(1, ag::data::utf8_char_length(text, end));  // a bad byte counts as one
    if (end + length > max_bytes - 3) break;
    end += length;
  }
  return text.substr(0, end) + "...";
}

int run_predict(const std::string& checkpoint, std::vector<std::string> texts, const std::string& explain) {
  Loaded m = load_model(checkpoint);
  if (texts.empty())
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) texts.push_back(line);
  const std::vector<imdb::TextPrediction> predictions = imdb::predict(*m.model, m.vocab, texts);
  for (const auto& p : predictions)
    fmt::print("{:.4f}  {}  {}\n", p.probability, p.probability >= 0.5 ? "positive" : "negative", preview(p.text, 80));
  if (!explain.empty()) {
    ag::write_file_atomically(explain, imdb::explain_html(predictions));
    fmt::print("wrote {}\n", explain);
  }
  return 0;
}

// The --recipe on the command line ("default" without one): its values are the defaults the other
// options start from, so it is read before they are declared. An unknown name is left to the
// parser's check of --recipe, which refuses it (exit 2).
std::string recipe_in(int argc, char** argv) {
  std::string name = "default";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--recipe" && i + 1 < argc) name = argv[i + 1];
    if (arg.rfind("--recipe=", 0) == 0) name = arg.substr(9);
  }
  return name == "article" ? name : "default";
}

}  // namespace

int run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep stdout in order with the progress bar on stderr in logs
  std::signal(SIGXFSZ, SIG_IGN);  // past a file size limit, writes fail (and are reported) instead of killing us
  CLI::App app{"Train, evaluate and explain the IMDB attention classifier (Embedding -> BiLSTM -> attention -> Dense)"};
  app.require_subcommand(1);
  using ag::train::integer_in, ag::train::number_in, ag::train::Ends;
  const CLI::Validator threads_range = integer_in(1, ag::kMaxThreads);

  imdb::TrainOptions o = imdb::recipe(recipe_in(argc, argv));
  CLI::App* train = app.add_subcommand("train", "train on the IMDB reviews (aclImdb/ or aclImdb_v1.tar.gz)");
  std::string recipe_name;
  train->add_option("--recipe", recipe_name,
                    "default: the measured best (dropout 0.2 on the embeddings, the BiLSTM outputs and the pooled "
                    "vector; --mask; batch 64; Adam 3e-3 decaying linearly to 0 over 3 epochs); article: the seed "
                    "article's (Adam 1e-3, batch 32, 5 epochs, no regularisation). The options below change it")
      ->check(CLI::IsMember({"default", "article"}));
  train->add_option("--data", o.data_dir,
                    "folder with aclImdb/ or aclImdb_v1.tar.gz, the only one looked in "
                    "(default: $ATTOGRAD_DATA, then ~/.local/share/attograd, then ../shared/data beside the source tree)");
  train->add_option("--out", o.out_dir, "run folder for best.h5, last.h5, metrics.csv")->capture_default_str();
  train->add_option("--resume", o.resume_dir, "continue the run in RUN_DIR from its last.h5, with its own recipe");
  train->add_flag("--overwrite", o.overwrite, "start a new run in --out even where one is (its checkpoints are replaced)")
      ->excludes("--resume");
  train->add_flag("--mask,!--no-mask", o.model.mask,
                  "post-pad and pass lengths to the LSTM and a mask to the attention; --no-mask: pre-pad, no mask "
                  "(default: on, or off with --recipe article)");
  train->add_option("--optimizer", o.optimizer, "adam or adamw")
      ->capture_default_str()
      ->check(CLI::IsMember({"adam", "adamw"}));
  train->add_option("--lr", o.lr, "learning rate")->capture_default_str()->check(number_in(0, std::numeric_limits<double>::max(), Ends::OpenLow));
  train->add_option("--weight-decay", o.weight_decay, "L2 (adam) or decoupled (adamw) weight decay")
      ->capture_default_str()
      ->check(number_in(0, std::numeric_limits<double>::max()));
  train->add_option("--embed-dropout", o.model.embed_dropout, "dropout on the embeddings")
      ->capture_default_str()
      ->check(number_in(0, 1, Ends::OpenHigh));
  train->add_option("--lstm-dropout", o.model.lstm_dropout, "dropout on the BiLSTM outputs")
      ->capture_default_str()
      ->check(number_in(0, 1, Ends::OpenHigh));
  train->add_option("--dropout", o.model.dropout, "dropout on the pooled vector, before the classifier")
      ->capture_default_str()
      ->check(number_in(0, 1, Ends::OpenHigh));
  train->add_option("--schedule", o.schedule, "learning rate: constant, or a linear or cosine decay to 0 at the last step")
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "linear", "cosine"}));
  train->add_option("--warmup", o.warmup, "steps of linear warmup (linear and cosine)")
      ->capture_default_str()
      ->check(integer_in(0, INT64_MAX));
  train->add_option("--patience", o.patience,
                    "early stopping: end after N epochs without a better val accuracy (0: off; best.h5 is the best)")
      ->capture_default_str()
      ->check(integer_in(0, 1000000));
  train->add_option("--min-delta", o.min_delta, "early stopping: the val accuracy gain that counts as better")
      ->capture_default_str()
      ->check(number_in(0, 1));
  train->add_option("--init", o.model.init, "parameter initialisation: keras (the classic model's) or torch")
      ->capture_default_str()
      ->check(CLI::IsMember({"keras", "torch"}));
  train->add_option("--epochs", o.epochs, "epochs (default: the recipe's, 3 or the article's 5; on --resume, the run's own)")
      ->check(integer_in(1, 1000000));
  train->add_option("--batch", o.batch, "batch size")->capture_default_str()->check(integer_in(1, 1 << 20));
  train->add_option("--maxlen", o.model.maxlen, "ids per review (padded or truncated)")
      ->capture_default_str()
      ->check(integer_in(1, 1 << 20));
  train->add_option("--vocab", o.model.vocab_size, "vocabulary size, reserved ids included")
      ->capture_default_str()
      ->check(integer_in(4, 1 << 24));
  train->add_option("--seed", o.seed, "seed for initialisation, validation split and shuffling")
      ->capture_default_str()
      ->check(ag::train::unsigned_integer());
  train->add_option("--threads", o.threads, "threads (default: all cores)")->check(threads_range);
  train->add_option("--clip", o.clip, "clip the gradient norm to this (0: off)")
      ->capture_default_str()
      ->check(number_in(0, std::numeric_limits<double>::max()));
  train->add_option("--save-every", o.save_every, "also write last.h5 every N steps (0: at epoch ends)")
      ->capture_default_str()
      ->check(integer_in(0, INT64_MAX));
  train->add_option("--val-fraction", o.val_fraction, "fraction of train held out for validation")
      ->capture_default_str()
      ->check(number_in(0, 1, Ends::Open));
  train->add_option("--per-class", o.per_class, "use only N training reviews per label (quick runs)")
      ->check(integer_in(0, INT64_MAX));
  bool no_test = false;
  train->add_flag("--no-test", no_test,
                  "skip the test split at the end (a recipe search must choose on validation alone)");
  train->add_flag("--detect-anomaly", o.detect_anomaly,
                  "check every op for NaN and every gradient for NaN/Inf, naming the first op at fault (slow)");
  train->add_option("--export-batches", o.export_batches, "write the initial model and the first --export-steps batches to this file and exit (bench/)");
  train->add_option("--export-steps", o.export_steps, "batches to export (-1: every batch of --epochs epochs, and the validation and test sets)")
      ->capture_default_str()
      ->check(integer_in(-1, INT64_MAX));

  std::string profile_path;
  bool profile_shapes = false;
  ag::train::add_profile_options(*train, profile_path, profile_shapes);

  std::string checkpoint, data, explain, predictions;
  int64_t batch = 256;
  int threads = 0;
  std::vector<std::string> texts;
  CLI::App* eval = app.add_subcommand("eval", "loss, accuracy and confusion matrix on the test split");
  eval->add_option("--checkpoint", checkpoint, "a checkpoint written by imdb train")->required();
  eval->add_option("--data", data, "folder with aclImdb/ or aclImdb_v1.tar.gz (default: the one the run trained on)");
  eval->add_option("--batch", batch, "batch size")->capture_default_str()->check(integer_in(1, 1 << 20));
  eval->add_option("--threads", threads, "threads (default: all cores)")->check(threads_range);
  eval->add_option("--predictions", predictions, "also write the test inputs and probabilities here (HDF5)");
  ag::train::add_profile_options(*eval, profile_path, profile_shapes);
  CLI::App* predict = app.add_subcommand("predict", "P(positive) for each text (arguments, or lines on stdin)");
  predict->add_option("--checkpoint", checkpoint, "a checkpoint written by imdb train")->required();
  predict->add_option("texts", texts, "texts to classify");
  predict->add_option("--explain", explain, "write an HTML page shading each word by its attention weight");
  predict->add_option("--threads", threads, "threads (default: all cores)")->check(threads_range);

  if (auto code = ag::train::parse_command_line(app, argc, argv)) return *code;
  try {
    if (threads > 0) ag::set_num_threads(threads);
    ag::train::check_output_is_not_input("--profile", profile_path, {checkpoint, predictions});
    ag::train::ProfileRun profile(profile_path, profile_shapes);
    if (*eval) {
      ag::train::check_output_is_not_input("--predictions", predictions, {checkpoint});
      const int code = run_eval(checkpoint, data, batch, predictions);
      profile.finish();
      return code;
    }
    if (*predict) {
      ag::train::check_output_is_not_input("--explain", explain, {checkpoint});
      return run_predict(checkpoint, texts, explain);
    }
    if (!o.resume_dir.empty() && train->get_option("--epochs")->count() == 0) o.epochs = 0;  // the run's own
    if (!o.resume_dir.empty())
      ag::train::check_resume_options(*train, {"--resume", "--data", "--epochs", "--threads", "--detect-anomaly",
                                                "--no-test", "--profile", "--profile-shapes"});
    // The default --out never lands on an earlier run: runs/imdb, then runs/imdb-2, ...
    if (train->get_option("--out")->count() == 0 && o.resume_dir.empty() && !o.overwrite)
      o.out_dir = ag::train::CheckpointManager::first_free_run_dir(o.out_dir).string();
    ag::dist::barrier();  // under mpirun every rank picks the folder before rank 0 takes it
    o.test = !no_test;
    imdb::train(o);  // ends with its summary line
    profile.finish();
    return ag::train::interrupted_exit_code();  // 130 or 143 after Ctrl-C or SIGTERM: the run was saved, not done
  } catch (const ag::train::UsageError& e) {
    fmt::print(stderr, "imdb{}: {}\nRun with --help for more information.\n", ag::dist::rank_label(), e.what());
    return ag::train::kUsageError;
  } catch (const ag::Error& e) {
    fmt::print(stderr, "imdb{}: {}\n", ag::dist::rank_label(), e.what());
    return 1;
  } catch (const std::exception& e) {  // a case no check names yet: still a message, not an abort
    fmt::print(stderr, "imdb{}: unexpected error (please report it): {}\n", ag::dist::rank_label(), e.what());
    return 1;
  }
}

// Under mpirun every process runs the same command (ag::dist: the ranks train together, rank 0
// prints); alone it is the ordinary program.
int main(int argc, char** argv) {
  ag::dist::Session world(argc, argv);
  ag::dist::quiet_other_ranks();
  return world.exit_code(run(argc, argv));
}
