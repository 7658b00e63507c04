// The IMDB example: --explain shows the model's own attention weights, a stopped run resumes
// exactly, and (with the real data) a short run learns.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <regex>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attograd/core/core.h"
#include "attograd/data/imdb.h"
#include "attograd/data/tokenizer.h"
#include "examples/imdb/dataset.h"
#include "examples/imdb/evaluate.h"
#include "examples/imdb/predict.h"
#include "examples/imdb/train.h"
#include "attograd/nn/linear.h"
#include "attograd/train/run_checkpoint.h"
#include "tests/examples/tiny_data.h"
#include "tests/fixture.h"
#include "tests/test_util.h"

namespace {

using ag::testing::error_of;
using ag::testing::expect_bitwise_equal;
using ag::testing::expect_mentions;
using ag::testing::TempDir;
using ag::testing::make_tiny_dataset;

namespace fs = std::filesystem;

imdb::TrainOptions tiny_options(const fs::path& data, const fs::path& out) {
  imdb::TrainOptions o;
  o.data_dir = data.string();
  o.out_dir = out.string();
  o.model.vocab_size = 20;
  o.model.maxlen = 12;
  o.model.embed_dim = 8;
  o.model.hidden = 6;
  o.model.dropout = 0.1f;  // exercises the generator state in the checkpoint
  o.batch = 4;
  o.epochs = 2;
  o.val_fraction = 0.25;
  o.test = false;
  o.threads = 1;
  return o;
}

ag::nn::NamedTensors weights_of(const fs::path& checkpoint) { return ag::train::load_checkpoint(checkpoint.string(), false).model; }

TEST(ImdbExample, ResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne) {
  TempDir tmp;
  const fs::path data = make_tiny_dataset(tmp.path / "data", 16);  // 24 training reviews: 6 batches per epoch
  imdb::TrainOptions straight = tiny_options(data, tmp.path / "straight");
  const imdb::TrainResult full = imdb::train(straight);
  ASSERT_FALSE(full.stopped);
  EXPECT_EQ(full.steps, 12);

  imdb::TrainOptions first = tiny_options(data, tmp.path / "resumed");
  first.stop_after_steps = 3;  // stop in the middle of epoch 1
  ASSERT_TRUE(imdb::train(first).stopped);
  imdb::TrainOptions rest = tiny_options("", tmp.path / "ignored");  // no --data: the run's own reviews
  rest.resume_dir = (tmp.path / "resumed").string();
  const imdb::TrainResult second = imdb::train(rest);
  EXPECT_EQ(second.steps, 9);
  EXPECT_FALSE(second.stopped);

  expect_bitwise_equal(weights_of(tmp.path / "straight" / "last.h5"), weights_of(tmp.path / "resumed" / "last.h5"),
                       "after resume");
  EXPECT_EQ(full.best_val_accuracy, second.best_val_accuracy);
}

// Regularisation (dropout on the embeddings, the BiLSTM outputs and the
// pooled vector; a cosine schedule with warmup) resumes bit for bit too: the schedule's step and the
// generator come back from last.h5.
TEST(ImdbExample, ResumeWithDropoutEverywhereAndACosineScheduleIsBitwise) {
  TempDir tmp;
  const fs::path data = make_tiny_dataset(tmp.path / "data", 16);
  auto options = [&](const fs::path& out) {
    imdb::TrainOptions o = tiny_options(data, out);
    o.model.embed_dropout = 0.2f;
    o.model.lstm_dropout = 0.3f;
    o.schedule = "cosine";
    o.warmup = 2;
    o.epochs = 3;
    return o;
  };
  const imdb::TrainResult full = imdb::train(options(tmp.path / "straight"));
  imdb::TrainOptions first = options(tmp.path / "resumed");
  first.stop_after_steps = 8;  // inside epoch 2
  ASSERT_TRUE(imdb::train(first).stopped);
  imdb::TrainOptions rest = tiny_options("", tmp.path / "ignored");
  rest.resume_dir = (tmp.path / "resumed").string();
  rest.epochs = 0;  // the run's own 3
  EXPECT_EQ(imdb::train(rest).steps, 10);
  const auto a = weights_of(tmp.path / "straight" / "last.h5");
  expect_bitwise_equal(a, weights_of(tmp.path / "resumed" / "last.h5"), "after resume");
  const auto last = ag::train::load_checkpoint((tmp.path / "resumed" / "last.h5").string());
  ASSERT_TRUE(last.scheduler);
  EXPECT_EQ(last.scheduler->type, "WarmupCosine");
  EXPECT_EQ(full.steps, 18);

  // Each dropout draws masks: the same run without one of them ends elsewhere.
  imdb::TrainOptions no_embed_dropout = options(tmp.path / "no_embed_dropout");
  no_embed_dropout.model.embed_dropout = 0;
  imdb::train(no_embed_dropout);
  EXPECT_NE(weights_of(tmp.path / "no_embed_dropout" / "last.h5")[0].second.to_vector(), a[0].second.to_vector());
}

// Early stopping ends a long run once val accuracy has not improved for `patience` epochs; best.h5
// holds the best epoch.
TEST(ImdbExample, EarlyStoppingEndsTheRunAndKeepsTheBestEpoch) {
  TempDir tmp;
  imdb::TrainOptions o = tiny_options(make_tiny_dataset(tmp.path / "data", 16), tmp.path / "run");
  o.epochs = 30;
  o.patience = 1;
  const imdb::TrainResult r = imdb::train(o);
  EXPECT_FALSE(r.stopped);
  EXPECT_LT(r.steps, 30 * 6);  // val accuracy on 8 reviews stops rising long before epoch 30
  const int64_t epochs_run = r.steps / 6;
  EXPECT_EQ(r.best_epoch, epochs_run - 1);  // patience 1: the epoch after the best one ends the run
  const auto best = nlohmann::json::parse(ag::train::load_checkpoint_config((tmp.path / "run" / "best.h5").string()));
  EXPECT_EQ(best.at("progress").at("best_epoch"), r.best_epoch);
}

// --recipe article is TrainOptions{} (the article's numbers stay reproducible bit for bit); the
// default recipe changes only how the seed's model is trained, never the model.
TEST(ImdbExample, RecipesAreTheArticlesAndTheMeasuredDefault) {
  auto recipe_of = [](const imdb::TrainOptions& o) {  // every option a recipe may set
    return std::make_tuple(o.optimizer, o.lr, o.weight_decay, o.epochs, o.batch, o.clip, o.schedule, o.warmup,
                           o.patience, o.min_delta, o.val_fraction, o.model.to_json());
  };
  const imdb::TrainOptions article = imdb::recipe("article"), plain;
  EXPECT_EQ(recipe_of(article), recipe_of(plain));
  EXPECT_EQ(article.lr, 1e-3);
  EXPECT_EQ(article.model.dropout + article.model.embed_dropout + article.model.lstm_dropout, 0);
  EXPECT_EQ(article.schedule, "constant");
  EXPECT_EQ(article.optimizer, "adam");
  const imdb::TrainOptions tuned = imdb::recipe("default");
  EXPECT_NE(recipe_of(tuned), recipe_of(plain));
  EXPECT_GE(tuned.epochs, 1);
  for (const imdb::TrainOptions* o : {&tuned, &article}) {  // the seed's model: the same sizes and inputs
    EXPECT_EQ(o->model.maxlen, 200);
    EXPECT_EQ(o->model.vocab_size, 10000);
    EXPECT_EQ(o->model.embed_dim, 128);
    EXPECT_EQ(o->model.hidden, 64);
  }
  EXPECT_EQ(article.batch, 32);
  expect_mentions(error_of([] { imdb::recipe("keras"); }), {"--recipe", "keras"});
}

// --data on resume may name another copy of the run's reviews, but not other reviews: the
// vocabulary and the validation split are the run's.
TEST(ImdbExample, ResumeRefusesDataOfAnotherSize) {
  TempDir tmp;
  imdb::TrainOptions first = tiny_options(make_tiny_dataset(tmp.path / "data", 16), tmp.path / "run");
  first.stop_after_steps = 2;
  ASSERT_TRUE(imdb::train(first).stopped);
  imdb::TrainOptions rest = tiny_options(make_tiny_dataset(tmp.path / "other", 12), tmp.path / "ignored");
  rest.resume_dir = (tmp.path / "run").string();
  expect_mentions(error_of([&] { imdb::train(rest); }),
                  {"--resume", "32 reviews", (tmp.path / "data").string(), (tmp.path / "other").string(), "has 24"});
}

// A checkpoint of something else, or one without training state, is an error naming the file.
TEST(ImdbExample, ResumeRefusesCheckpointsOfOtherKinds) {
  TempDir tmp;
  ag::nn::Linear layer(2, 3);
  fs::create_directories(tmp.path / "other");
  const std::string other = (tmp.path / "other" / "last.h5").string();
  ag::train::save_checkpoint(other, ag::train::make_checkpoint(layer));  // no config, no vocabulary
  const fs::path data = make_tiny_dataset(tmp.path / "data", 16);
  imdb::TrainOptions o = tiny_options(data, tmp.path / "ignored");
  o.resume_dir = (tmp.path / "other").string();
  expect_mentions(error_of([&] { imdb::train(o); }), {"--resume", other, "not a training checkpoint"});

  imdb::TrainOptions first = tiny_options(data, tmp.path / "run");
  first.epochs = 1;
  imdb::train(first);
  fs::create_directories(tmp.path / "copied");
  fs::copy_file(tmp.path / "run" / "best.h5", tmp.path / "copied" / "last.h5");
  o.resume_dir = (tmp.path / "copied").string();
  expect_mentions(error_of([&] { imdb::train(o); }), {"--resume", "holds no training state"});
}

// Each bad number stops the run before it starts, with the option's name and value.
TEST(ImdbExample, BadOptionsAreErrorsNamingTheOption) {
  TempDir tmp;
  const fs::path data = make_tiny_dataset(tmp.path / "data", 8);
  const std::vector<std::pair<std::function<void(imdb::TrainOptions&)>, std::string>> cases = {
      {[](auto& o) { o.lr = 0; }, "--lr 0"},
      {[](auto& o) { o.weight_decay = -1; }, "--weight-decay -1"},
      {[](auto& o) { o.epochs = -1; }, "--epochs -1"},
      {[](auto& o) { o.lr = NAN; }, "--lr nan"},
      {[](auto& o) { o.threads = 100000; }, "--threads 100000"},
      {[](auto& o) { o.batch = 0; }, "--batch 0"},
      {[](auto& o) { o.model.maxlen = 0; }, "--maxlen 0"},
      {[](auto& o) { o.clip = -1; }, "--clip -1"},
      {[](auto& o) { o.threads = -1; }, "--threads -1"},
      {[](auto& o) { o.save_every = -1; }, "--save-every -1"},
      {[](auto& o) { o.val_fraction = 0; }, "--val-fraction 0"},
      {[](auto& o) { o.val_fraction = 1; }, "--val-fraction 1"},
      {[](auto& o) { o.per_class = -1; }, "--per-class -1"},
  };
  for (const auto& [spoil, message] : cases) {
    imdb::TrainOptions o = tiny_options(data, tmp.path / "bad");
    spoil(o);
    expect_mentions(error_of([&] { imdb::train(o); }), {message});
    EXPECT_FALSE(fs::exists(tmp.path / "bad" / "last.h5")) << message;
  }
  imdb::ModelConfig config;
  config.vocab_size = 12, config.maxlen = 8, config.embed_dim = 4, config.hidden = 3;
  imdb::Classifier model(config);
  imdb::Examples one;
  one.ids.push_back({3, 4});
  one.labels.push_back(1);
  expect_mentions(error_of([&] { imdb::evaluate(model, one, {}, 0); }), {"batch size 0"});
}

TEST(ImdbExample, ExplainPageShowsEveryWordWithTheModelsOwnAttentionWeights) {
  for (bool mask : {false, true}) {
    ag::manual_seed(5);
    imdb::ModelConfig config;
    config.vocab_size = 12;
    config.maxlen = 8;
    config.embed_dim = 4;
    config.hidden = 3;
    config.mask = mask;
    imdb::Classifier model(config);
    ag::data::WordCounts counts{{"good", 5}, {"bad", 4}, {"movie", 3}};
    const ag::data::Vocab vocab = ag::data::Vocab::build(counts, {"<pad>", "<start>", "<unk>"}, "<unk>", 12);
    // One text shorter than maxlen, one longer (its first words fall outside the window).
    const std::vector<std::string> texts = {"A good movie!", "bad bad movie, really bad acting and a bad plot overall sadly"};
    const auto predictions = imdb::predict(model, vocab, texts);
    const std::string html = imdb::explain_html(predictions);

    for (size_t k = 0; k < texts.size(); ++k) {
      const std::vector<std::string> words = ag::data::tokenize_review(texts[k]);
      // The model's own weights for this text, computed here independently of predict().
      imdb::Examples one;
      one.ids.push_back(imdb::encode(words, vocab));
      one.labels.push_back(0);
      const imdb::Batch batch = imdb::make_batch(one, {0}, config);
      ag::NoGradGuard no_grad;
      model.eval();
      const ag::Tensor attention = model.forward(batch.ids, batch.lengths).attention;
      const int64_t total = static_cast<int64_t>(words.size()) + 1, kept = std::min(total, config.maxlen);
      for (size_t w = 0; w < words.size(); ++w) {
        const int64_t id_index = static_cast<int64_t>(w) + 1 - (total - kept);
        const int64_t position = (mask ? 0 : config.maxlen - kept) + id_index;
        const double expected = id_index < 0 ? 0.0 : attention.data()[position];
        EXPECT_NEAR(predictions[k].word_weights[w], expected, 1e-7) << "text " << k << " word " << words[w];
      }
      EXPECT_EQ(predictions[k].words, words);
    }
    // Every input word is on the page, each with its weight.
    std::regex span("<span class=\"w\" data-weight=\"([^\"]+)\"[^>]*>([^<]*)</span>");
    std::vector<std::pair<double, std::string>> shown;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), span); it != std::sregex_iterator(); ++it)
      shown.emplace_back(std::stod((*it)[1]), (*it)[2]);
    size_t i = 0;
    for (const auto& p : predictions)
      for (size_t w = 0; w < p.words.size(); ++w, ++i) {
        ASSERT_LT(i, shown.size());
        EXPECT_EQ(shown[i].second, p.words[w]);
        EXPECT_NEAR(shown[i].first, p.word_weights[w], 1e-8);
      }
    EXPECT_EQ(i, shown.size());
  }
}

// The whole model against its PyTorch twin (bench/torch/imdb_model.py): the full parameter-name
// list, outputs, attention weights and every gradient, without and with the mask.
TEST(ImdbExample, WholeModelMatchesPyTorch) {
  const ag::testing::Fixture fixture("models.h5");
  for (const std::string name : {"imdb", "imdb_masked"}) {
    const ag::testing::FixtureCase c = fixture[name];
    imdb::ModelConfig config;
    config.vocab_size = c.attr_int("vocab_size");
    config.maxlen = c.attr_int("maxlen");
    config.embed_dim = c.attr_int("embed_dim");
    config.hidden = c.attr_int("hidden");
    config.mask = c.attr_int("mask") != 0;
    imdb::Classifier model(config);
    EXPECT_EQ(ag::testing::names_of(model), c.state_dict_keys()) << name;
    model.load_state_dict(c.state());
    const imdb::Prediction y = model.forward(c.input_ints("ids"), c.input_ints("lengths"));
    ag::testing::expect_close(y.logits, c.output("logits"), name + " logits");
    ag::testing::expect_close(y.attention, c.output("attention"), name + " attention");
    ag::sum(y.logits * c.upstream("logits") + ag::sum(y.attention * c.upstream("attention"), {1})).backward();
    for (const auto& [param, t] : model.named_parameters())
      ag::testing::expect_close(t.grad(), c.grad(param), name + " grad " + param);
  }
}

// Whether this build runs under AddressSanitizer (clang's and GCC's spellings), which makes training
// 10-15x slower.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// 2,000 real reviews (1,000 per label), a fixed number of steps; skipped without the data. Under the
// sanitizers the run is one epoch (56 steps, every step of the pipeline on real data) and the accuracy
// bound, which needs the four epochs, is left to the unsanitized builds: four would take 5 minutes.
TEST(ImdbExample, ShortRunOnRealReviewsLearns) {
  fs::path root;
  try {
    root = ag::data::find_imdb();
  } catch (const ag::Error& e) {
    GTEST_SKIP() << "IMDB data not found, skipping the real-data run: " << e.what();
  }
  TempDir tmp;
  imdb::TrainOptions o;
  o.data_dir = root.string();
  o.out_dir = (tmp.path / "run").string();
  o.per_class = 1000;
  o.epochs = kSanitized ? 1 : 4;  // 4 x 56 = 224 steps
  o.val_fraction = 0.1;
  o.test = false;
  o.threads = 1;  // ctest runs tests side by side on 2 cores: one thread each never oversubscribes them
  o.seed = 1;
  const imdb::TrainResult r = imdb::train(o);
  fmt::print("[imdb short run] best validation accuracy {:.2f}% after {} steps\n", 100 * r.best_val_accuracy, r.steps);
  EXPECT_EQ(r.steps, o.epochs * 56);
  if (kSanitized) {
    fmt::print("[imdb short run] sanitized build: 1 epoch, the 70% bound is checked by the unsanitized builds\n");
  } else {
    EXPECT_GE(r.best_val_accuracy, 0.70);
  }
}

// A checkpoint written by 0.1 (tests/fixtures/v0.1) loads and predicts as it did then.
TEST(ImdbV01, CheckpointLoadsAndPredictsAsBefore) {
  const std::string dir = std::string(ATTOGRAD_FIXTURE_DIR) + "/v0.1/";
  const ag::train::Checkpoint c = ag::train::load_checkpoint(dir + "imdb.h5", false);
  const auto run = nlohmann::json::parse(c.config);
  imdb::Classifier model(imdb::ModelConfig::from_json(run.at("model").dump()));
  model.load_state_dict(c.model);
  const auto vocab = ag::data::Vocab::from_tokens(c.vocab.at("words"), "<unk>");
  std::ifstream in(dir + "expected.json");
  const nlohmann::json expected = nlohmann::json::parse(in);
  const auto predictions = imdb::predict(model, vocab, {"a lovely great film", "awful bad plot", "the movie"});
  ASSERT_EQ(predictions.size(), 3u);
  for (size_t i = 0; i < predictions.size(); ++i)
    EXPECT_EQ(fmt::format("{:.9g}", predictions[i].probability), expected.at("imdb").at(i)) << i;
}

}  // namespace
