// The translation example's training loop: a tiny transformer learns to reverse sentences through
// the real train() path, a stopped run resumes exactly, the attention SVG names every word, and eval
// on a pair of files writes one hypothesis per line.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "attograd/core/core.h"
#include "attograd/data/parallel_corpus.h"
#include "examples/translate/evaluate.h"
#include "examples/translate/predict.h"
#include "examples/translate/train.h"
#include "attograd/nn/hdf5.h"
#include "attograd/nn/linear.h"
#include "attograd/train/run_checkpoint.h"
#include "tests/examples/tiny_data.h"
#include "tests/test_util.h"

namespace {

using ag::testing::error_of;
using ag::testing::expect_bitwise_equal;
using ag::testing::expect_mentions;
using ag::testing::TempDir;
using ag::testing::make_reverse_corpus;
using ag::testing::reverse_pairs;
using ag::testing::tiny_transformer;
using ag::testing::write_lines;

namespace fs = std::filesystem;


// One trained reverse model shared by the tests that need a good one.
struct ReverseRun {
  fs::path dir = fs::temp_directory_path() / ("attograd-translate-reverse-" + std::to_string(::getpid()));
  fs::path data, run;
  translate::TrainResult result;
  ReverseRun() {
    fs::remove_all(dir);
    data = make_reverse_corpus(dir / "data", 2000);
    run = dir / "run";
    translate::TrainOptions o = tiny_transformer(data, run);
    o.epochs = 1000;
    o.max_steps = 800;
    o.max_tokens = 400;
    o.validate_bleu = false;  // only at the end: validation happens once, when max_steps ends the run
    result = translate::train(o);
  }
  ~ReverseRun() { fs::remove_all(dir); }
};

const ReverseRun& reverse_run() {
  static ReverseRun run;
  return run;
}

// Declared first: see the comment on epochs below (it runs before the long reverse run in one process).
// Twice: an untied output layer with the inverse-sqrt schedule, then a tied one with the linear
// schedule (whose length is recomputed on resume).
TEST(TranslateTrain, ResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne) {
  for (const bool tied_linear : {false, true}) {
  SCOPED_TRACE(tied_linear ? "tied output, linear schedule" : "untied output, inverse-sqrt schedule");
  TempDir tmp;
  const fs::path data = make_reverse_corpus(tmp.path / "data", 60);
  auto options = [&](const fs::path& out) {
    translate::TrainOptions o = tiny_transformer(data, out);
    o.model.d_model = 16;
    o.model.heads = 2;
    o.model.feed_forward = 32;
    o.model.encoder_layers = o.model.decoder_layers = 1;
    o.model.dropout = 0.1f;  // the dropout masks' generator state travels in the checkpoint too
    o.max_tokens = 120;
    o.epochs = 2;  // stopped in epoch 1, resumed through epoch 2
    o.tie_output = tied_linear;
    if (tied_linear) o.schedule = "linear", o.warmup = 4;
    return o;
  };
  const translate::TrainResult full = translate::train(options(tmp.path / "straight"));
  ASSERT_FALSE(full.stopped);
  ASSERT_GT(full.steps, 12);

  translate::TrainOptions first = options(tmp.path / "resumed");
  first.stop_after_steps = 3;  // in the middle of the epoch
  ASSERT_TRUE(translate::train(first).stopped);
  translate::TrainOptions rest = options(tmp.path / "ignored");
  rest.resume_dir = (tmp.path / "resumed").string();
  if (tied_linear) rest.data_dir.clear();  // without --data, a resumed run reads the corpus it started on
  const translate::TrainResult second = translate::train(rest);
  EXPECT_FALSE(second.stopped);
  EXPECT_EQ(second.steps, full.steps - 3);

  expect_bitwise_equal(ag::train::load_checkpoint((tmp.path / "straight" / "last.h5").string(), false).model,
                       ag::train::load_checkpoint((tmp.path / "resumed" / "last.h5").string(), false).model,
                       "after resume");
  EXPECT_EQ(full.best_val_bleu, second.best_val_bleu);
  EXPECT_EQ(full.last_val_loss, second.last_val_loss);
  }
}

// --data on resume may name another copy of the run's corpus, but not another corpus: the
// vocabularies and the batch order are the run's.
TEST(TranslateTrain, ResumeRefusesACorpusOfAnotherSize) {
  TempDir tmp;
  translate::TrainOptions first = tiny_transformer(make_reverse_corpus(tmp.path / "data", 60), tmp.path / "run");
  first.stop_after_steps = 2;
  ASSERT_TRUE(translate::train(first).stopped);
  translate::TrainOptions rest = tiny_transformer(make_reverse_corpus(tmp.path / "other", 50), tmp.path / "ignored");
  rest.resume_dir = (tmp.path / "run").string();
  expect_mentions(error_of([&] { translate::train(rest); }),
                  {"--resume", "60 pairs", (tmp.path / "data").string(), (tmp.path / "other").string(), "has 50"});
}

// A checkpoint of something else, or one without training state, is an error naming the file.
TEST(TranslateTrain, ResumeAndLoadRefuseCheckpointsOfOtherKinds) {
  TempDir tmp;
  ag::nn::Linear layer(2, 3);
  fs::create_directories(tmp.path / "other");
  const std::string other = (tmp.path / "other" / "last.h5").string();
  ag::train::save_checkpoint(other, ag::train::make_checkpoint(layer));  // no config, no vocabularies
  translate::TrainOptions o = tiny_transformer(tmp.path / "data", tmp.path / "ignored");
  o.resume_dir = (tmp.path / "other").string();
  expect_mentions(error_of([&] { translate::train(o); }), {"--resume", other, "not a training checkpoint"});
  expect_mentions(error_of([&] { translate::load_model(other); }), {other, "no model config"});

  translate::TrainOptions first = tiny_transformer(make_reverse_corpus(tmp.path / "data", 60), tmp.path / "run");
  first.max_steps = 1;  // then validates, writing best.h5
  translate::train(first);
  fs::create_directories(tmp.path / "copied");
  fs::copy_file(tmp.path / "run" / "best.h5", tmp.path / "copied" / "last.h5");
  o.resume_dir = (tmp.path / "copied").string();
  expect_mentions(error_of([&] { translate::train(o); }), {"--resume", "holds no training state"});
}

// translate average: the mean of one run's checkpoints loads and translates like any checkpoint;
// checkpoints of another model are refused by name.
TEST(TranslateTrain, AveragedCheckpointsLoadAndOtherModelsAreRefused) {
  TempDir tmp;
  const fs::path data = make_reverse_corpus(tmp.path / "data", 60);
  translate::TrainOptions o = tiny_transformer(data, tmp.path / "run");
  o.max_tokens = 120;
  o.validate_bleu = false;
  o.tie_output = true;  // tied names average consistently (the transformer's default, said here)
  o.epochs = 3;
  o.keep_epochs = 2;
  translate::train(o);
  EXPECT_FALSE(fs::exists(tmp.path / "run" / "epoch1.h5")) << "only the last --keep-epochs are kept";
  const std::string e2 = (tmp.path / "run" / "epoch2.h5").string(), e3 = (tmp.path / "run" / "epoch3.h5").string();
  EXPECT_EQ(ag::train::load_checkpoint(e3, false).model.size(),
            ag::train::load_checkpoint((tmp.path / "run" / "last.h5").string(), false).model.size());
  const std::string avg = (tmp.path / "avg.h5").string();
  translate::average_models({e2, e3}, avg);
  const translate::LoadedModel m = translate::load_model(avg);
  const auto a = ag::train::load_checkpoint(e2, false).model, b = ag::train::load_checkpoint(e3, false).model;
  const auto mean = ag::train::load_checkpoint(avg, false).model;
  ASSERT_EQ(mean.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (int64_t k = 0; k < a[i].second.numel(); ++k)
      ASSERT_EQ(mean[i].second.data()[k],
                static_cast<float>((static_cast<double>(a[i].second.data()[k]) + b[i].second.data()[k]) / 2))
          << a[i].first;
  EXPECT_EQ(nlohmann::json::parse(ag::train::load_checkpoint(avg, false).config).at("averaged_from"),
            (std::vector<std::string>{e2, e3}));
  EXPECT_EQ(translate::translate_sentences(*m.model, m.src_vocab, m.trg_vocab, {{"ant", "bee"}}).size(), 1u);

  o.out_dir = (tmp.path / "narrow").string();
  o.model.d_model = 16;
  o.model.feed_forward = 32;
  translate::train(o);
  const std::string narrow = (tmp.path / "narrow" / "last.h5").string();
  expect_mentions(error_of([&] { translate::average_models({e2, narrow}, avg); }),
                  {"average: ", "narrow", "another model"});
}

// --max-tokens left at 0 takes each architecture's measured recipe (2048 transformer, 4096 rnn), as
// the export records; a negative count is refused by name.
TEST(TranslateTrain, MaxTokensDefaultsToEachArchitecturesRecipe) {
  TempDir tmp;
  const fs::path data = make_reverse_corpus(tmp.path / "data", 60);
  auto exported_max_tokens = [&](const std::string& arch) {
    translate::TrainOptions o = tiny_transformer(data, tmp.path / arch);
    o.model.arch = arch;
    o.model.embed = o.model.hidden = 16;
    o.max_tokens = 0;
    o.epochs = 1;
    o.export_batches = (tmp.path / (arch + ".h5")).string();
    translate::train(o);
    return nlohmann::json::parse(ag::H5File(o.export_batches, ag::H5File::Mode::Read).attr_string("/", "recipe"))
        .at("max_tokens")
        .get<int64_t>();
  };
  EXPECT_EQ(exported_max_tokens("transformer"), 2048);
  EXPECT_EQ(exported_max_tokens("rnn"), 4096);

  translate::TrainOptions o = tiny_transformer(data, tmp.path / "bad");
  o.max_tokens = -1;
  expect_mentions(error_of([&] { translate::train(o); }), {"--max-tokens -1"});
}

// Each bad number stops the run before it starts, with the option's name and value.
TEST(TranslateTrain, BadOptionsAreErrorsNamingTheOption) {
  TempDir tmp;
  const fs::path data = make_reverse_corpus(tmp.path / "data", 20);
  const std::vector<std::pair<std::function<void(translate::TrainOptions&)>, std::string>> cases = {
      {[](auto& o) { o.lr = -1; }, "--lr -1"},
      {[](auto& o) { o.epochs = -2; }, "--epochs -2"},
      {[](auto& o) { o.warmup = -1; }, "--warmup -1"},
      {[](auto& o) { o.label_smoothing = 1; }, "--label-smoothing 1"},
      {[](auto& o) { o.clip = -0.5; }, "--clip -0.5"},
      {[](auto& o) { o.min_freq = 0; }, "--min-freq 0"},
      {[](auto& o) { o.threads = -1; }, "--threads -1"},
      {[](auto& o) { o.save_every = -3; }, "--save-every -3"},
      {[](auto& o) { o.keep_epochs = -1; }, "--keep-epochs -1"},
      {[](auto& o) { o.val_limit = -1; }, "--val-limit -1"},
      {[](auto& o) { o.max_steps = -2; }, "--max-steps -2"},
  };
  for (const auto& [spoil, message] : cases) {
    translate::TrainOptions o = tiny_transformer(data, tmp.path / "bad");
    spoil(o);
    expect_mentions(error_of([&] { translate::train(o); }), {message});
    EXPECT_FALSE(fs::exists(tmp.path / "bad" / "last.h5")) << message;
  }
  ag::manual_seed(1);
  translate::TranslationConfig config;
  config.src_vocab = config.trg_vocab = 8;
  config.d_model = 16, config.heads = 2, config.feed_forward = 32, config.encoder_layers = config.decoder_layers = 1;
  const std::shared_ptr<translate::Seq2Seq> model = translate::make_model(config);
  const ag::data::Vocab vocab = ag::data::Vocab::from_tokens({"<unk>", "<pad>", "<sos>", "<eos>", "ant"}, "<unk>");
  expect_mentions(error_of([&] { translate::translate_sentences(*model, vocab, vocab, {{"ant"}}, 1, 0); }),
                  {"batch size 0"});
}

// The transformer's recipe ties the output layer to the target embedding; the rnn's does not (its
// output layer is 2*hidden wide). TrainOptions::tie_output overrides the recipe, and a resumed run
// keeps its checkpoint's choice: asking for the other is refused, not silently ignored.
TEST(TranslateTrain, TieOutputDefaultsToEachArchitecturesRecipe) {
  TempDir tmp;
  const fs::path data = make_reverse_corpus(tmp.path / "data", 60);
  auto options = [&](const std::string& arch, std::optional<bool> tie, const std::string& name) {
    translate::TrainOptions o = tiny_transformer(data, tmp.path / name);
    o.model.arch = arch;
    o.model.embed = o.model.hidden = 16;
    o.tie_output = tie;
    o.epochs = 1;
    o.validate_bleu = false;
    return o;
  };
  auto exported_tie = [&](const std::string& arch, std::optional<bool> tie, const std::string& name) {
    translate::TrainOptions o = options(arch, tie, name);
    o.export_batches = (tmp.path / (name + ".h5")).string();
    translate::train(o);
    const auto config = nlohmann::json::parse(ag::train::load_checkpoint_config(o.export_batches));
    return config.at("model").at("tie_output").get<bool>();
  };
  EXPECT_TRUE(exported_tie("transformer", std::nullopt, "transformer"));
  EXPECT_FALSE(exported_tie("transformer", false, "transformer-untied"));
  EXPECT_FALSE(exported_tie("rnn", std::nullopt, "rnn"));
  expect_mentions(error_of([&] { exported_tie("rnn", true, "rnn-tied"); }), {"tie_output", "transformer"});

  translate::TrainOptions first = options("transformer", std::nullopt, "run");
  first.stop_after_steps = 1;
  ASSERT_TRUE(translate::train(first).stopped);
  translate::TrainOptions resumed = options("transformer", false, "ignored");
  resumed.resume_dir = (tmp.path / "run").string();
  expect_mentions(error_of([&] { translate::train(resumed); }), {"--resume", "tied", "--no-tie-output"});
}

// --schedule linear decays to 0 exactly at the run's last step; the export carries that length so
// bench/torch/translate.py follows the same schedule. An unknown schedule is refused by name.
TEST(TranslateTrain, LinearScheduleEndsAtZeroOnTheLastStep) {
  TempDir tmp;
  const fs::path data = make_reverse_corpus(tmp.path / "data", 60);
  translate::TrainOptions o = tiny_transformer(data, tmp.path / "run");
  o.max_tokens = 120;
  o.epochs = 3;
  o.warmup = 4;
  o.schedule = "linear";
  o.validate_bleu = false;
  const translate::TrainResult r = translate::train(o);
  ASSERT_GT(r.steps, 8);
  std::ifstream metrics(tmp.path / "run" / "metrics.csv");
  std::string line, last;
  while (std::getline(metrics, line)) last = line;
  std::vector<std::string> fields;  // step,epoch,train_loss,val_loss,val_perplexity,val_bleu,lr,tokens_per_s
  std::stringstream row(last);
  for (std::string field; std::getline(row, field, ',');) fields.push_back(field);
  ASSERT_EQ(fields.size(), 8u) << last;
  EXPECT_EQ(std::stoll(fields[0]), r.steps);
  EXPECT_EQ(std::stod(fields[6]), 0.0) << "lr after the last step";

  o.export_batches = (tmp.path / "batches.h5").string();
  translate::train(o);
  const auto recipe = nlohmann::json::parse(
      ag::H5File(o.export_batches, ag::H5File::Mode::Read).attr_string("/", "recipe"));
  EXPECT_EQ(recipe.at("schedule"), "WarmupLinear");
  EXPECT_EQ(recipe.at("total_steps").get<int64_t>(), r.steps);

  o.export_batches.clear();
  o.overwrite = true;  // the run above is in o.out_dir; these are errors of the options
  o.warmup = 1000;
  expect_mentions(error_of([&] { translate::train(o); }), {"--warmup 1000", "steps", "linear"});
  o.schedule = "cosine";
  expect_mentions(error_of([&] { translate::train(o); }), {"--schedule cosine"});
}

// bench/ times and trains PyTorch on what --export-batches writes: it must be exactly the batch
// stream training sees (every pair once per epoch, <sos>/<eos> in place, token counts as tokens/s
// counts them), and the file must load as a checkpoint of the starting model.
TEST(TranslateTrain, ExportedBatchesAreTheTrainingStream) {
  TempDir tmp;
  const fs::path data = make_reverse_corpus(tmp.path / "data", 60);
  translate::TrainOptions o = tiny_transformer(data, tmp.path / "run");
  o.max_tokens = 120;
  o.epochs = 2;
  o.export_batches = (tmp.path / "batches.h5").string();
  o.export_steps = -1;  // every batch of every epoch
  const translate::TrainResult r = translate::train(o);
  EXPECT_EQ(r.steps, 0) << "exporting must not train";

  ag::H5File f(o.export_batches, ag::H5File::Mode::Read);
  const int64_t steps = f.attr_int("/", "steps");
  const std::vector<int64_t> ends = f.read_ints("/epoch_ends").to_vector();
  ASSERT_EQ(ends.size(), 2u);
  ASSERT_EQ(ends.back(), steps);
  const std::vector<int64_t> tokens = f.read_ints("/tokens").to_vector();
  ASSERT_EQ(static_cast<int64_t>(tokens.size()), steps);
  int64_t rows_in_epoch = 0;
  for (int64_t s = 0; s < steps; ++s) {
    const std::string at = fmt::format("/batches/{}/", s);
    const ag::IntTensor src = f.read_ints(at + "src"), lengths = f.read_ints(at + "src_lengths");
    const ag::IntTensor trg_in = f.read_ints(at + "trg_in"), trg_out = f.read_ints(at + "trg_out");
    const int64_t rows = src.size(0), S = src.size(1), T = trg_in.size(1);
    ASSERT_EQ(trg_out.shape(), trg_in.shape());
    int64_t non_pad = 0;
    for (int64_t b = 0; b < rows; ++b) {
      EXPECT_EQ(trg_in.data()[b * T], translate::kSos) << "batch " << s << " row " << b;
      int64_t trg_len = 0;
      while (trg_len < T && trg_out.data()[b * T + trg_len] != translate::kPad) ++trg_len;
      ASSERT_GT(trg_len, 0);
      EXPECT_EQ(trg_out.data()[b * T + trg_len - 1], translate::kEos) << "batch " << s << " row " << b;
      for (int64_t t = 0; t < S; ++t) EXPECT_EQ(src.data()[b * S + t] == translate::kPad, t >= lengths.data()[b]);
      non_pad += lengths.data()[b] + trg_len;
    }
    EXPECT_EQ(tokens[s], non_pad) << "batch " << s;
    rows_in_epoch += rows;
    if (s + 1 == ends[0] || s + 1 == ends[1]) {
      EXPECT_EQ(rows_in_epoch, 60) << "every training pair once in the epoch ending at step " << s + 1;
      rows_in_epoch = 0;
    }
  }
  const ag::train::Checkpoint start = ag::train::load_checkpoint(o.export_batches, false);
  EXPECT_FALSE(start.model.empty());
  EXPECT_EQ(start.vocab.count("src"), 1u);

  o.export_batches = (tmp.path / "five.h5").string();  // --export-steps N: the first N only
  o.export_steps = 5;
  translate::train(o);
  EXPECT_EQ(ag::H5File(o.export_batches, ag::H5File::Mode::Read).attr_int("/", "steps"), 5);
}

TEST(TranslateTrain, TinyTransformerLearnsToReverseSentences) {
  const ReverseRun& r = reverse_run();
  ASSERT_FALSE(r.result.stopped);
  const translate::LoadedModel m = translate::load_model((r.run / "last.h5").string());
  const ag::data::ParallelCorpus test = ag::data::read_multi30k(r.data, "test_2016_flickr", "de", "en");
  const translate::Evaluation e = translate::evaluate_bleu(*m.model, m.src_vocab, m.trg_vocab, test);
  fmt::print("[reverse] held-out greedy {} (val loss {:.4f} after {} steps)\n", e.bleu.to_string(),
             r.result.last_val_loss, r.result.steps);
  EXPECT_GT(e.bleu.score, 90.0);
  const translate::Evaluation beam = translate::evaluate_bleu(*m.model, m.src_vocab, m.trg_vocab, test, 3);
  fmt::print("[reverse] held-out beam 3 {}\n", beam.bleu.to_string());
  EXPECT_GT(beam.bleu.score, 90.0);
  EXPECT_TRUE(fs::exists(r.run / "metrics.csv"));
}

std::string escaped(const std::string& word) {
  std::string out;
  for (char c : word) out += c == '<' ? std::string("&lt;") : c == '>' ? std::string("&gt;") : std::string(1, c);
  return out;
}

TEST(TranslateTrain, AttentionSvgShowsEverySourceAndTargetWord) {
  const ReverseRun& r = reverse_run();
  const translate::LoadedModel m = translate::load_model((r.run / "last.h5").string());
  for (int64_t beam : {1, 3}) {
    const auto out = translate::predict(m, {"Ant cat hen fox", "jay eel"}, beam);
    ASSERT_EQ(out.size(), 2u);
    const translate::SentenceTranslation& t = out[0];
    EXPECT_EQ(t.source_words, (std::vector<std::string>{"ant", "cat", "hen", "fox", "<eos>"}));
    fmt::print("[predict beam {}] {} -> {}\n", beam, t.text, t.translation());
    const std::string svg = translate::attention_svg(t);
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    for (const std::string& w : t.source_words)
      EXPECT_NE(svg.find(fmt::format(">{}</text>", escaped(w))), std::string::npos) << "source word " << w;
    ASSERT_FALSE(t.words.empty());
    for (const std::string& w : t.words)
      EXPECT_NE(svg.find(fmt::format(">{}</text>", escaped(w))), std::string::npos) << "target word " << w;
    // One cell per (target, source) pair.
    size_t cells = 0;
    for (size_t at = svg.find("<rect x="); at != std::string::npos; at = svg.find("<rect x=", at + 1)) ++cells;
    EXPECT_EQ(cells, t.words.size() * t.source_words.size());
  }
}

TEST(TranslateTrain, EvalOnFilesWritesOneHypothesisPerLine) {
  const ReverseRun& r = reverse_run();
  TempDir tmp;
  const auto [src, trg] = reverse_pairs(25, 99);
  std::vector<std::string> with_empty = src;
  with_empty.push_back("");  // an empty source still gets a (possibly empty) line
  std::vector<std::string> refs = trg;
  refs.push_back("");
  write_lines(tmp.path / "src.txt", with_empty);
  write_lines(tmp.path / "ref.txt", refs);
  const translate::LoadedModel m = translate::load_model((r.run / "last.h5").string());
  const ag::data::ParallelCorpus corpus = ag::data::read_parallel(tmp.path / "src.txt", tmp.path / "ref.txt");
  ASSERT_EQ(corpus.size(), 26);
  const translate::Evaluation e = translate::evaluate_bleu(*m.model, m.src_vocab, m.trg_vocab, corpus, 1, 8);
  const fs::path hyps = tmp.path / "hyps.txt";
  translate::write_hypotheses(hyps.string(), e.hypotheses);
  std::ifstream in(hyps);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 26u);
  int exact = 0;
  for (size_t i = 0; i < trg.size(); ++i) exact += lines[i] == trg[i];
  fmt::print("[eval files] {}, {} of {} exact\n", e.bleu.to_string(), exact, trg.size());
  EXPECT_GT(e.bleu.score, 80.0);
}

// Checkpoints written by 0.1 (tests/fixtures/v0.1) load and translate as they did then.
TEST(TranslateV01, CheckpointsLoadAndTranslateAsBefore) {
  const std::string dir = std::string(ATTOGRAD_FIXTURE_DIR) + "/v0.1/";
  std::ifstream in(dir + "expected.json");
  const nlohmann::json expected = nlohmann::json::parse(in);
  for (const std::string arch : {"transformer", "rnn"}) {
    const translate::LoadedModel m = translate::load_model(dir + "translate_" + arch + ".h5");
    EXPECT_EQ(m.model->config().arch, arch);
    const auto out = translate::predict(m, {"ein hund sieht", "zwei katze hat rot", "frau mann"}, 1);
    ASSERT_EQ(out.size(), 3u);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].translation(), expected.at(arch).at(i)) << arch << " " << i;
  }
}

}  // namespace
