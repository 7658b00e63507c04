#pragma once
// RunLock: one training run per run folder at a time. Two runs writing one folder would interleave
// metrics.csv and mix checkpoints of different runs; the second is refused at once instead.

#include <filesystem>

namespace ag::train {

/// An exclusive flock() on RUN_DIR/.lock, held for the object's lifetime. The kernel releases it
/// when the process ends, however it ends (a crash, kill -9), so a dead run's lock never blocks.
class RunLock {
 public:
  /// Creates `run_dir` if needed and takes its lock. Raises ag::Error naming the folder and the pid
  /// of the process holding it when another process (or another RunLock) holds it.
  explicit RunLock(const std::filesystem::path& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  /// True when a live process holds the lock of `run_dir` (false for a folder without one).
  static bool held(const std::filesystem::path& run_dir);
  /// The lock file of a run folder.
  static std::filesystem::path file_of(const std::filesystem::path& run_dir) { return run_dir / ".lock"; }

 private:
  int fd_ = -1;
};

}  // namespace ag::train
