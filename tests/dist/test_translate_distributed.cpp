// The translation example's transformer trained by 2 ranks against one process (see
// test_imdb_distributed.cpp for the scheme): token-bucketed batches whose sentences split unevenly,
// a loss that is a mean over each rank's target tokens (weighted by its share of the batch's), dropout
// in every layer and in the attention weights, and validation (loss and BLEU) split over the ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "attograd/dist/dist.h"
#include "attograd/data/parallel_corpus.h"
#include "examples/translate/evaluate.h"
#include "examples/translate/train.h"
#include "tests/dist/shared_run.h"
#include "tests/examples/tiny_data.h"

namespace {

using ag::testing::expect_close;
using ag::testing::expect_same_losses;
using ag::testing::LossLog;
using ag::testing::model_of;
using ag::testing::SharedDir;

TEST(TranslateDistributed, TwoRanksTrainTheTransformerAsOneProcessDoes) {
  if (ag::dist::world_size() != 2) GTEST_SKIP() << "needs 2 ranks: ctest runs it as dist_two_ranks (mpirun -np 2)";
  SharedDir dir("translate");
  if (ag::dist::is_main()) ag::testing::make_reverse_corpus(dir.path / "data", 200);
  ag::dist::barrier();
  auto options = [&](const std::string& out) {
    translate::TrainOptions o = ag::testing::tiny_transformer(dir.path / "data", dir.path / out);
    o.model.dropout = 0.1f;  // also on the attention weights (the fused kernel's own masks)
    o.warmup = 10;
    o.epochs = 100;  // batches of about 24 pairs (max_tokens 240), whatever their count, split between the ranks
    o.max_steps = 20;
    return o;
  };
  translate::TrainOptions alone = options("alone-" + std::to_string(ag::dist::rank()));
  alone.distributed = false;
  auto reference = std::make_shared<LossLog>();
  alone.callbacks = {reference};
  const translate::TrainResult one = translate::train(alone);

  translate::TrainOptions together = options("together");
  auto log = std::make_shared<LossLog>();
  together.callbacks = {log};
  const translate::TrainResult two = translate::train(together);
  EXPECT_EQ(two.steps, 20);
  expect_same_losses(*log, *reference);
  // Validation at each epoch end and when max_steps ends the run, split over the ranks: the loss
  // is a sum over their tokens, BLEU comes from the summed n-gram counts of their sentences.
  EXPECT_NEAR(two.last_val_loss, one.last_val_loss, 1e-5 * one.last_val_loss);
  EXPECT_EQ(two.last_val_bleu, one.last_val_bleu);
  ag::dist::barrier();
  // Left out: the attention key biases (elements [d, 2d) of each in_proj_bias). Their exact gradient
  // is 0 (q . b_k adds the same number to every score of a query, which softmax cancels), so what
  // they get is rounding noise, of another sign in each run, that Adam scales up to steps of lr.
  auto key_bias = [](const std::string& name, int64_t i) {
    const int64_t d = 32;  // tiny_transformer's d_model
    return name.ends_with("in_proj_bias") && i >= d && i < 2 * d;
  };
  expect_close(model_of(dir.path / "alone-0" / "last.h5"), model_of(dir.path / "together" / "last.h5"), key_bias);

  // 20 steps leave BLEU at 0 (no 4-gram matches yet), so the counts themselves are compared: the
  // split evaluation's summed counts are the whole corpus's, down to each precision's bits.
  translate::LoadedModel m = translate::load_model((dir.path / "together" / "last.h5").string());
  const ag::data::ParallelCorpus val = ag::data::read_multi30k(dir.path / "data", "val", "de", "en");
  const ag::train::Bleu whole = translate::evaluate_bleu(*m.model, m.src_vocab, m.trg_vocab, val).bleu;
  const ag::train::Bleu split =
      translate::evaluate_bleu(*m.model, m.src_vocab, m.trg_vocab, val, 1, 8, false, /*across_ranks=*/true).bleu;
  EXPECT_GT(whole.hypothesis_length, 0);
  EXPECT_GT(whole.precisions[0], 0);
  EXPECT_EQ(split.hypothesis_length, whole.hypothesis_length);
  EXPECT_EQ(split.reference_length, whole.reference_length);
  for (int n = 0; n < 4; ++n) EXPECT_EQ(split.precisions[n], whole.precisions[n]) << "p" << n + 1;
  EXPECT_EQ(split.score, whole.score);
}

}  // namespace
