// translate: train, evaluate and run German -> English translation models (Multi30k) on attograd.
//
//   translate train   [--data DIR] [--arch transformer|rnn] [--out RUN_DIR] [--resume RUN_DIR] [--epochs N] ...
//   translate eval    --checkpoint RUN_DIR/best.h5 [--split test_2016_flickr] [--beam K] [--output hyps.txt]
//                     [--src-file F --ref-file F]
//   translate predict --checkpoint RUN_DIR/best.h5 [TEXT...] [--beam K] [--attention-svg out.svg]   (or stdin)
//   translate average --out avg.h5 CHECKPOINT...
//   translate compare A.txt B.txt --ref-file REF [--samples 1000] [--seed 1]
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "attograd/core/core.h"
#include "attograd/data/data_path.h"
#include "attograd/data/parallel_corpus.h"
#include "examples/translate/dataset.h"
#include "examples/translate/evaluate.h"
#include "examples/translate/predict.h"
#include "examples/translate/train.h"
#include "attograd/nn/sealed_file.h"
#include "attograd/dist/dist.h"
#include "attograd/train/bleu_bootstrap.h"
#include "attograd/train/checkpoint_manager.h"
#include "attograd/train/command_line.h"
#include "attograd/train/interrupt.h"
#include "attograd/train/profile_run.h"

namespace {

// True when a file can be created at `path` (its folder exists and is writable); nothing is left there.
bool writable(const std::string& path) {
  const std::filesystem::path folder = std::filesystem::absolute(path).parent_path();
  return ::access(folder.c_str(), W_OK) == 0 && !std::filesystem::is_directory(path);
}

int run_eval(const std::string& checkpoint, const std::string& data, const std::string& split, int64_t beam,
             const std::string& src_file, const std::string& ref_file, const std::string& output, int64_t batch) {
  const translate::LoadedModel m = translate::load_model(checkpoint);
  ag::check(src_file.empty() == ref_file.empty(), "translate eval: give both --src-file and --ref-file, or neither");
  const std::string data_flag = ag::data::data_flag_for_run(data, m.data_dir);
  const ag::data::ParallelCorpus corpus =
      src_file.empty()
          ? ag::data::read_multi30k(ag::data::find_multi30k(data_flag, m.src_lang), split, m.src_lang, m.trg_lang)
          : ag::data::read_parallel(src_file, ref_file);
  std::vector<std::string> inputs = {checkpoint, src_file, ref_file};
  if (src_file.empty())  // the split's files, plain or gzip
    for (const std::string& lang : {m.src_lang, m.trg_lang})
      for (const char* ending : {"", ".gz"})
        inputs.push_back((ag::data::find_multi30k(data_flag, m.src_lang) / (split + ".lc.norm.tok." + lang + ending)).string());
  ag::train::check_output_is_not_input("--output", output, inputs);
  ag::check(output.empty() || writable(output), "cannot write {}", output);  // before, not after, decoding
  const translate::Evaluation e =
      translate::evaluate_bleu(*m.model, m.src_vocab, m.trg_vocab, corpus, beam, batch, /*show_progress=*/true);
  if (!output.empty()) {
    translate::write_hypotheses(output, e.hypotheses);
    fmt::print("wrote {} hypotheses to {}\n", e.hypotheses.size(), output);
  }
  fmt::print("{}: {} sentences, {}\n  {}\n  {:.1f} s\n", src_file.empty() ? split : src_file, e.sentences,
             beam > 1 ? fmt::format("beam {}", beam) : "greedy", e.bleu.to_string(), e.seconds);
  // The teacher-forced loss, as training reports it for val: a far less noisy way than BLEU to tell
  // two models apart, since every reference token counts, not only the n-grams a decode gets right.
  const int64_t max_len = m.model->config().arch == "transformer" ? m.model->config().max_len : 100000;
  const translate::LossResult loss =
      translate::evaluate_loss(*m.model, translate::encode_corpus(corpus, m.src_vocab, m.trg_vocab, max_len), 4096);
  fmt::print("  loss {:.4f}, perplexity {:.3f} over {} reference tokens (teacher-forced, <eos> included)\n", loss.loss,
             loss.perplexity, loss.tokens);
  return 0;
}

int run_predict(const std::string& checkpoint, std::vector<std::string> texts, int64_t beam, const std::string& svg) {
  const translate::LoadedModel m = translate::load_model(checkpoint);
  if (texts.empty())
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) texts.push_back(line);
  const std::vector<translate::SentenceTranslation> out = translate::predict(m, texts, beam);
  for (const auto& t : out) fmt::print("{}\n", t.translation());
  if (!svg.empty() && !out.empty()) {
    ag::write_file_atomically(svg, translate::attention_svg(out.front()));
    fmt::print(stderr, "wrote the attention of the first sentence to {}\n", svg);
  }
  return 0;
}

// BLEU of two systems' hypotheses of one test set, and a paired bootstrap of their difference.
int run_compare(const std::string& a_file, const std::string& b_file, const std::string& ref_file, int64_t samples,
                uint64_t seed) {
  const ag::data::ParallelCorpus a = ag::data::read_parallel(a_file, ref_file), b = ag::data::read_parallel(b_file, ref_file);
  std::vector<ag::train::BleuCounts> counts_a, counts_b;
  for (int64_t i = 0; i < a.size(); ++i) {
    counts_a.push_back(ag::train::sentence_counts(a.source[i], a.target[i]));
    counts_b.push_back(ag::train::sentence_counts(b.source[i], b.target[i]));
  }
  const ag::train::PairedBootstrap r = ag::train::paired_bootstrap(counts_a, counts_b, samples, seed);
  fmt::print("A  {}  {}\nB  {}  {}\nB - A = {:+.2f} BLEU on all {} sentences\npaired bootstrap: {}\n", r.a.to_string(),
             a_file, r.b.to_string(), b_file, r.b.score - r.a.score, a.size(), r.to_string());
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::signal(SIGXFSZ, SIG_IGN);  // past a file size limit, writes fail (and are reported) instead of killing us
  CLI::App app{"Train, evaluate and run Transformer and LSTM-attention translation models (Multi30k de-en)"};
  app.require_subcommand(1);
  using ag::train::integer_in, ag::train::number_in, ag::train::Ends;
  const CLI::Validator threads_range = integer_in(1, ag::kMaxThreads), size = integer_in(1, 1 << 20);

  translate::TrainOptions o;
  CLI::App* train = app.add_subcommand("train", "train on Multi30k (train/val.lc.norm.tok.{de,en}[.gz])");
  train->add_option("--data", o.data_dir,
                    "folder with the corpus, the only one looked in (default: $ATTOGRAD_DATA, then ~/.local/share/attograd, then ../shared/data beside the source tree)");
  train->add_option("--src", o.src_lang, "source language")->capture_default_str();
  train->add_option("--trg", o.trg_lang, "target language")->capture_default_str();
  train->add_option("--arch", o.model.arch, "transformer or rnn")
      ->capture_default_str()
      ->check(CLI::IsMember({"transformer", "rnn"}));
  train->add_option("--out", o.out_dir, "run folder for best.h5, last.h5, metrics.csv")->capture_default_str();
  train->add_option("--resume", o.resume_dir, "continue the run in RUN_DIR from its last.h5, with its own recipe");
  train->add_flag("--overwrite", o.overwrite, "start a new run in --out even where one is (its checkpoints are replaced)")
      ->excludes("--resume");
  train->add_option("--epochs", o.epochs, "epochs (default 16 transformer, 10 rnn; on --resume, the run's own)")
      ->check(integer_in(1, 1000000));
  train->add_option("--max-tokens", o.max_tokens,
                    "padded source + target tokens per batch (default 2048 transformer, 4096 rnn)")
      ->check(size);
  train->add_option("--max-steps", o.max_steps, "end after this many steps in all (-1: run every epoch)")
      ->capture_default_str()
      ->check(integer_in(-1, INT64_MAX));
  train->add_option("--lr", o.lr, "peak learning rate (default 1e-3)")->check(number_in(0, std::numeric_limits<double>::max(), Ends::OpenLow));
  train->add_option("--schedule", o.schedule,
                    "lr schedule: linear (transformer default: warmup, then down to 0 at the last step), "
                    "inverse-sqrt, or constant (rnn default)")
      ->check(CLI::IsMember({"linear", "inverse-sqrt", "constant"}));
  train->add_option("--warmup", o.warmup, "linear warmup steps (linear and inverse-sqrt schedules)")
      ->capture_default_str()
      ->check(integer_in(0, INT64_MAX));
  train->add_option("--label-smoothing", o.label_smoothing, "label smoothing")
      ->capture_default_str()
      ->check(number_in(0, 1, Ends::OpenHigh));
  train->add_option("--clip", o.clip, "clip the gradient norm to this (0: off)")
      ->capture_default_str()
      ->check(number_in(0, std::numeric_limits<double>::max()));
  train->add_option("--dropout", o.model.dropout, "dropout")->capture_default_str()->check(number_in(0, 1, Ends::OpenHigh));
  train->add_option("--d-model", o.model.d_model, "transformer width")->capture_default_str()->check(size);
  train->add_option("--layers", o.model.encoder_layers, "transformer encoder layers")
      ->capture_default_str()
      ->check(integer_in(1, 1000));
  train->add_option("--decoder-layers", o.model.decoder_layers, "transformer decoder layers")
      ->capture_default_str()
      ->check(integer_in(1, 1000));
  train->add_option("--heads", o.model.heads, "attention heads")->capture_default_str()->check(integer_in(1, 4096));
  train->add_option("--ff", o.model.feed_forward, "transformer feed-forward size")->capture_default_str()->check(size);
  bool tie_output = false, no_tie_output = false;
  train->add_flag("--tie-output", tie_output,
                  "transformer: the output layer shares the target embedding (the transformer's default)");
  train->add_flag("--no-tie-output", no_tie_output, "transformer: an output layer of its own")->excludes("--tie-output");
  train->add_option("--embed", o.model.embed, "rnn embedding size")->capture_default_str()->check(size);
  train->add_option("--hidden", o.model.hidden, "rnn decoder LSTM size")->capture_default_str()->check(size);
  train->add_option("--min-freq", o.min_freq, "keep words seen at least this often")
      ->capture_default_str()
      ->check(integer_in(1, INT64_MAX));
  train->add_option("--seed", o.seed, "seed for initialisation, batching and dropout")
      ->capture_default_str()
      ->check(ag::train::unsigned_integer());
  train->add_option("--threads", o.threads, "threads (default: all cores)")->check(threads_range);
  train->add_option("--save-every", o.save_every, "also write last.h5 every N steps (0: at epoch ends)")
      ->capture_default_str()
      ->check(integer_in(0, INT64_MAX));
  train->add_option("--keep-epochs", o.keep_epochs, "keep the last N epochs' models as RUN_DIR/epoch<E>.h5 "
                    "(for translate average)")
      ->capture_default_str()
      ->check(integer_in(0, 100000));
  train->add_option("--val-limit", o.val_limit, "validate on the first N val pairs (0: all)")
      ->capture_default_str()
      ->check(integer_in(0, INT64_MAX));
  train->add_flag("--detect-anomaly", o.detect_anomaly,
                  "check every op for NaN and every gradient for NaN/Inf, naming the first op at fault (slow)");
  train->add_option("--export-batches", o.export_batches,
                    "write the initial model and the training batches to this file and exit (bench/)");
  train->add_option("--export-steps", o.export_steps, "batches to export (-1: every batch of --epochs epochs)")
      ->capture_default_str()
      ->check(integer_in(-1, INT64_MAX));

  std::string checkpoint, data, split = "test_2016_flickr", src_file, ref_file, output, svg;
  int64_t beam = 1, batch = 64;
  int threads = 0;
  std::vector<std::string> texts;
  CLI::App* eval = app.add_subcommand("eval", "BLEU on a split or on --src-file/--ref-file");
  eval->add_option("--checkpoint", checkpoint, "a checkpoint written by translate train")->required();
  eval->add_option("--data", data, "folder with the corpus (default: the one the run trained on)");
  eval->add_option("--split", split, "val, test_2016_flickr, ...")->capture_default_str();
  eval->add_option("--beam", beam, "beam size (1: greedy)")->capture_default_str()->check(integer_in(1, 1000));
  eval->add_option("--src-file", src_file, "tokenised source sentences, one per line");
  eval->add_option("--ref-file", ref_file, "tokenised references, line-aligned with --src-file");
  eval->add_option("--output", output, "write the hypotheses here, one per line");
  eval->add_option("--batch", batch, "sentences per decoding batch")->capture_default_str()->check(integer_in(1, 1000000));
  eval->add_option("--threads", threads, "threads (default: all cores)")->check(threads_range);
  std::string profile_path;
  bool profile_shapes = false;
  ag::train::add_profile_options(*train, profile_path, profile_shapes);
  ag::train::add_profile_options(*eval, profile_path, profile_shapes);
  CLI::App* predict = app.add_subcommand("predict", "translate raw sentences (arguments, or lines on stdin)");
  predict->add_option("--checkpoint", checkpoint, "a checkpoint written by translate train")->required();
  predict->add_option("texts", texts, "sentences to translate");
  predict->add_option("--beam", beam, "beam size (1: greedy)")->capture_default_str()->check(integer_in(1, 1000));
  predict->add_option("--attention-svg", svg, "write the first sentence's attention heatmap (SVG)");
  predict->add_option("--threads", threads, "threads (default: all cores)")->check(threads_range);

  std::vector<std::string> to_average;
  std::string average_out;
  CLI::App* average = app.add_subcommand("average", "average the weights of checkpoints of one run (e.g. the last epochs)");
  average->add_option("checkpoints", to_average, "checkpoints of one model")->required();
  average->add_option("--out", average_out, "the averaged checkpoint (score it on val with translate eval)")->required();

  std::string compare_a, compare_b;
  int64_t samples = 1000;
  uint64_t compare_seed = 1;
  CLI::App* compare = app.add_subcommand(
      "compare", "is B's BLEU really above A's? Both systems' test BLEU and a paired bootstrap of the difference "
                 "(Koehn 2004): the spread the choice of test sentences alone gives it");
  compare->add_option("a", compare_a, "system A's hypotheses, one tokenised sentence per line")->required();
  compare->add_option("b", compare_b, "system B's hypotheses of the same sentences")->required();
  compare->add_option("--ref-file", ref_file, "the references, line-aligned with both (plain or .gz)")->required();
  compare->add_option("--samples", samples, "bootstrap resamples")->capture_default_str()->check(integer_in(1, 1000000));
  compare->add_option("--seed", compare_seed, "seed of the resampling")
      ->capture_default_str()
      ->check(ag::train::unsigned_integer());

  if (auto code = ag::train::parse_command_line(app, argc, argv)) return *code;
  try {
    if (threads > 0) ag::set_num_threads(threads);
    ag::train::check_output_is_not_input("--profile", profile_path, {checkpoint, src_file, ref_file, output});
    ag::train::ProfileRun profile(profile_path, profile_shapes);
    if (*eval) {
      const int code = run_eval(checkpoint, data, split, beam, src_file, ref_file, output, batch);
      profile.finish();
      return code;
    }
    if (*predict) {
      ag::train::check_output_is_not_input("--attention-svg", svg, {checkpoint});
      return run_predict(checkpoint, texts, beam, svg);
    }
    if (*compare) return run_compare(compare_a, compare_b, ref_file, samples, compare_seed);
    if (*average) {
      ag::train::check_output_is_not_input("--out", average_out, to_average);
      translate::average_models(to_average, average_out);
      fmt::print("wrote the mean of {} checkpoints to {}\n", to_average.size(), average_out);
      return 0;
    }
    if (!o.resume_dir.empty())
      ag::train::check_resume_options(*train, {"--resume", "--data", "--epochs", "--threads", "--detect-anomaly",
                                                "--profile", "--profile-shapes"});
    if (tie_output || no_tie_output) o.tie_output = tie_output;  // neither: the architecture's recipe
    // The default --out never lands on an earlier run: runs/translate, then runs/translate-2, ...
    if (train->get_option("--out")->count() == 0 && o.resume_dir.empty() && !o.overwrite)
      o.out_dir = ag::train::CheckpointManager::first_free_run_dir(o.out_dir).string();
    ag::dist::barrier();  // under mpirun every rank picks the folder before rank 0 takes it
    translate::train(o);  // ends with its summary line
    profile.finish();
    return ag::train::interrupted_exit_code();  // 130 or 143 after Ctrl-C or SIGTERM: the run was saved, not done
  } catch (const ag::train::UsageError& e) {
    fmt::print(stderr, "translate{}: {}\nRun with --help for more information.\n", ag::dist::rank_label(), e.what());
    return ag::train::kUsageError;
  } catch (const ag::Error& e) {
    fmt::print(stderr, "translate{}: {}\n", ag::dist::rank_label(), e.what());
    return 1;
  } catch (const std::exception& e) {  // a case no check names yet: still a message, not an abort
    fmt::print(stderr, "translate{}: unexpected error (please report it): {}\n", ag::dist::rank_label(), e.what());
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
