// The IMDB example trained by 2 ranks against the same run in one process: under `mpirun -np 2`
// (ctest dist_two_ranks) each rank first trains the one-process reference alone
// (TrainOptions::distributed = false, in a folder of its own), then both train together on the
// same global batches, split 3 + 2, with dropout on the embeddings, the BiLSTM outputs and the
// pooled vector. Alone, the tests skip: they need two ranks.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "attograd/dist/dist.h"
#include "attograd/train/callback.h"
#include "attograd/train/run_checkpoint.h"
#include "examples/imdb/train.h"
#include "tests/examples/tiny_data.h"
#include "tests/dist/shared_run.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ag::testing::expect_bitwise_equal;
using ag::testing::expect_close;
using ag::testing::expect_same_losses;
using ag::testing::LossLog;
using ag::testing::model_of;
using ag::testing::SharedDir;

class ImdbDistributed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ag::dist::world_size() != 2) GTEST_SKIP() << "needs 2 ranks: ctest runs it as dist_two_ranks (mpirun -np 2)";
    dir_.emplace("imdb");
    if (ag::dist::is_main()) ag::testing::make_tiny_dataset(dir_->path / "data", 40);
    ag::dist::barrier();
  }
  // 60 training reviews in 12 batches of 5 a epoch (3 on rank 0, 2 on rank 1), 20 reviews to validate.
  imdb::TrainOptions options(const std::string& out, int64_t stop_after) const {
    imdb::TrainOptions o = imdb::recipe("default");  // dropout 0.2 x3, masking, Adam, linear decay
    o.data_dir = (dir_->path / "data").string();
    o.out_dir = (dir_->path / out).string();
    o.model.vocab_size = 20;
    o.model.maxlen = 12;
    o.model.embed_dim = 8;
    o.model.hidden = 6;
    o.batch = 5;
    o.epochs = 3;
    o.val_fraction = 0.25;
    o.test = false;
    o.threads = 1;
    o.stop_after_steps = stop_after;
    return o;
  }
  fs::path path(const std::string& out) const { return dir_->path / out; }
  std::optional<SharedDir> dir_;
};

TEST_F(ImdbDistributed, TwoRanksFollowOneProcessStepByStepAndRankZeroAloneWrites) {
  imdb::TrainOptions alone = options("alone-" + std::to_string(ag::dist::rank()), 20);
  alone.distributed = false;
  auto reference = std::make_shared<LossLog>();
  alone.callbacks = {reference};
  const imdb::TrainResult one = imdb::train(alone);  // crosses an epoch end: validation and best.h5 at step 12
  EXPECT_EQ(one.steps, 20);

  imdb::TrainOptions together = options("together", 20);
  auto log = std::make_shared<LossLog>();
  together.callbacks = {log};
  const imdb::TrainResult r = imdb::train(together);
  EXPECT_EQ(r.steps, 20);
  expect_same_losses(*log, *reference);
  ag::dist::barrier();  // rank 0's files are complete
  expect_close(model_of(path("alone-0") / "last.h5"), model_of(path("together") / "last.h5"));
  // The validation split over the ranks gives the one-process accuracy (its counts are exact).
  EXPECT_EQ(r.best_val_accuracy, one.best_val_accuracy);
  EXPECT_EQ(r.best_epoch, 1);
  // One writer: one metrics row per epoch (not one per rank), no stray temporaries.
  std::ifstream metrics(path("together") / "metrics.csv");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  EXPECT_EQ(lines, 2);  // the header and epoch 1
  int files = 0;
  for (const auto& entry : fs::directory_iterator(path("together"))) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "last.h5" || name == "best.h5" || name == "metrics.csv" || name == ".lock") << name;
    ++files;
  }
  EXPECT_GE(files, 3);
}

TEST_F(ImdbDistributed, AStoppedTwoRankRunResumesBitwiseAndResumesInOneProcessToo) {
  EXPECT_EQ(imdb::train(options("straight", 20)).steps, 20);
  EXPECT_TRUE(imdb::train(options("stopped", 8)).stopped);  // mid-epoch 1
  ag::dist::barrier();
  // A copy of the stopped run for the one-process resume below, before the 2-rank resume moves on.
  if (ag::dist::is_main()) fs::copy(path("stopped"), path("stopped-alone-0"));
  ag::dist::barrier();

  imdb::TrainOptions rest = options("", 12);
  rest.resume_dir = path("stopped").string();
  rest.epochs = 0;  // the run's own
  EXPECT_EQ(imdb::train(rest).steps, 12);
  ag::dist::barrier();
  expect_bitwise_equal(model_of(path("straight") / "last.h5"), model_of(path("stopped") / "last.h5"),
                       "2 ranks resumed at step 8");

  // The same checkpoint resumed by one process: the data position and the generators do not
  // depend on the number of ranks, so it follows the 2-rank run within float32 rounding.
  if (ag::dist::is_main()) {
    imdb::TrainOptions one = options("", 12);
    one.resume_dir = path("stopped-alone-0").string();
    one.epochs = 0;
    one.distributed = false;
    EXPECT_EQ(imdb::train(one).steps, 12);
    expect_close(model_of(path("straight") / "last.h5"), model_of(path("stopped-alone-0") / "last.h5"));
  }
  ag::dist::barrier();
}

}  // namespace
