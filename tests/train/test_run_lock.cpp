// RunLock: one training run per folder; a dead run's lock blocks nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/test_util.h"
#include "attograd/train/checkpoint_manager.h"
#include "attograd/train/run_lock.h"

namespace {

namespace fs = std::filesystem;
using ag::testing::error_of;
using ag::testing::expect_mentions;
using ag::testing::TempDir;

TEST(RunLock, ASecondLockOnTheFolderIsRefusedNamingTheHolder) {
  TempDir tmp;
  const fs::path run = tmp.path / "run";
  {
    ag::train::RunLock first(run);
    EXPECT_TRUE(fs::is_directory(run));
    EXPECT_TRUE(ag::train::RunLock::held(run));
    expect_mentions(error_of([&] { ag::train::RunLock second(run); }),
                    {run.string(), "in use by another training run", "pid " + std::to_string(::getpid())});
  }
  EXPECT_FALSE(ag::train::RunLock::held(run)) << "released with the object";
  ag::train::RunLock again(run);
}

TEST(RunLock, AKilledHoldersLockDoesNotBlock) {
  TempDir tmp;
  const fs::path run = tmp.path / "run";
  const pid_t child = ::fork();
  if (child == 0) {  // takes the lock and dies without releasing it
    ag::train::RunLock lock(run);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(fs::exists(ag::train::RunLock::file_of(run))) << "the dead run's lock file stays";
  EXPECT_FALSE(ag::train::RunLock::held(run));
  ag::train::RunLock lock(run);
}

TEST(RunLock, TheDefaultRunFolderSkipsAFolderARunHolds) {
  TempDir tmp;
  const fs::path base = tmp.path / "runs" / "imdb";
  ag::train::RunLock running(base);  // a run that has not saved a checkpoint yet
  EXPECT_EQ(ag::train::CheckpointManager::first_free_run_dir(base), tmp.path / "runs" / "imdb-2");
}

TEST(CheckpointManager, RemovesTheTemporariesAKilledRunLeft) {
  TempDir tmp;
  const fs::path run = tmp.path / "run";
  fs::create_directories(run);
  for (const char* name : {"last.h5.tmp-123", "best.h5.tmp-9", "epoch4.h5.tmp-77", "metrics.csv.tmp-5", "notes.tmp-1",
                           "last.h5"})
    std::ofstream(run / name) << "x";
  ag::train::CheckpointManager manager(run);
  for (const char* name : {"last.h5.tmp-123", "best.h5.tmp-9", "epoch4.h5.tmp-77", "metrics.csv.tmp-5"})
    EXPECT_FALSE(fs::exists(run / name)) << name;
  EXPECT_TRUE(fs::exists(run / "notes.tmp-1") && fs::exists(run / "last.h5")) << "only the run's own temporaries go";
}

}  // namespace
