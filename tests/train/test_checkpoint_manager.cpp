// CheckpointManager: best.h5 only on improvement, and a new run never lands on another's checkpoints.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attograd/nn/linear.h"
#include "attograd/train/run_checkpoint.h"
#include "tests/test_util.h"
#include "attograd/train/checkpoint_manager.h"

namespace {

namespace fs = std::filesystem;
using ag::testing::error_of;
using ag::testing::expect_mentions;
using ag::testing::TempDir;

TEST(CheckpointManager, BestIsWrittenOnlyWhenTheMetricImproves) {
  TempDir tmp;
  ag::train::CheckpointManager run(tmp.path / "run");
  ag::nn::Linear layer(2, 3);
  EXPECT_TRUE(run.save_if_best(ag::train::make_checkpoint(layer), 0.5));
  const auto first = fs::last_write_time(run.best_path());
  EXPECT_FALSE(run.save_if_best(ag::train::make_checkpoint(layer), 0.5)) << "a tie is not an improvement";
  EXPECT_FALSE(run.save_if_best(ag::train::make_checkpoint(layer), 0.4));
  EXPECT_EQ(fs::last_write_time(run.best_path()), first);
  EXPECT_TRUE(run.save_if_best(ag::train::make_checkpoint(layer), 0.6));
  EXPECT_EQ(run.best(), 0.6);

  run.set_best(0.9);  // as a resumed run restores it
  EXPECT_FALSE(run.save_if_best(ag::train::make_checkpoint(layer), 0.7));
}

TEST(CheckpointManager, ANewRunRefusesAFolderThatHoldsAnotherRun) {
  TempDir tmp;
  ag::train::CheckpointManager::start_new_run(tmp.path / "absent", false);  // a new folder is fine
  ag::nn::Linear layer(2, 3);
  for (const char* name : {"last.h5", "best.h5"}) {
    SCOPED_TRACE(name);
    const fs::path dir = tmp.path / name;
    ag::train::CheckpointManager::start_new_run(dir, false);
    fs::create_directories(dir);
    ag::train::save_checkpoint((dir / name).string(), ag::train::make_checkpoint(layer));
    expect_mentions(error_of([&] { ag::train::CheckpointManager::start_new_run(dir, false); }),
                    {(dir / name).string(), "--resume", "--overwrite", "--out"});
    ag::train::CheckpointManager::start_new_run(dir, true);  // --overwrite: the user said so
  }
  // --overwrite clears the old run's per-epoch models, so they cannot be averaged with the new run's.
  const fs::path dir = tmp.path / "last.h5";
  for (const char* name : {"epoch3.h5", "epoch12.h5", "epoch.h5", "notes.txt"}) std::ofstream(dir / name) << "x";
  ag::train::CheckpointManager::start_new_run(dir, true);
  EXPECT_FALSE(fs::exists(dir / "epoch3.h5"));
  EXPECT_FALSE(fs::exists(dir / "epoch12.h5"));
  EXPECT_TRUE(fs::exists(dir / "epoch.h5") && fs::exists(dir / "notes.txt") && fs::exists(dir / "last.h5"))
      << "only epoch<E>.h5 goes";
}

TEST(CheckpointManager, FirstFreeRunDirNumbersPastFoldersThatHoldARun) {
  TempDir tmp;
  const fs::path base = tmp.path / "runs" / "imdb";
  EXPECT_EQ(ag::train::CheckpointManager::first_free_run_dir(base), base);
  fs::create_directories(base);  // an empty folder holds no run
  EXPECT_EQ(ag::train::CheckpointManager::first_free_run_dir(base), base);
  ag::nn::Linear layer(2, 3);
  ag::train::save_checkpoint((base / "last.h5").string(), ag::train::make_checkpoint(layer));
  fs::create_directories(tmp.path / "runs" / "imdb-2");
  ag::train::save_checkpoint((tmp.path / "runs" / "imdb-2" / "best.h5").string(), ag::train::make_checkpoint(layer));
  EXPECT_EQ(ag::train::CheckpointManager::first_free_run_dir(base), tmp.path / "runs" / "imdb-3");
}

}  // namespace
