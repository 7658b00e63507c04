#pragma once
// CheckpointManager: a run folder's best.h5 (best validation metric) and last.h5 (where training
// is), each written atomically, so a crash or Ctrl-C never loses the last good one.

#include <filesystem>
#include <limits>

#include "attograd/train/run_checkpoint.h"

namespace ag::train {

class CheckpointManager {
 public:
  /// Creates `run_dir` if needed and removes the temporary files a killed run left there (the
  /// caller holds the folder's RunLock, so nobody else is writing them). With `writes` false (the
  /// ranks but 0 of a distributed run) it touches no file: it follows the best metric and saves nothing.
  explicit CheckpointManager(std::filesystem::path run_dir, bool writes = true);
  /// For a run that starts from scratch in `run_dir`: raises ag::Error naming the file if the folder
  /// already holds another run's last.h5 or best.h5, unless `overwrite` (starting a run must not
  /// destroy another's checkpoints by accident). With `overwrite`, removes the old run's
  /// epoch<E>.h5, which the new run would otherwise mix with its own.
  static void start_new_run(const std::filesystem::path& run_dir, bool overwrite);
  /// `base` where it holds no run's last.h5 or best.h5 and no running run's lock, else the first of
  /// base-2, base-3, ... that holds none: where a program's default --out puts a new run when it is
  /// run again. Says so on stdout when it is not `base`.
  static std::filesystem::path first_free_run_dir(const std::filesystem::path& base);
  std::filesystem::path last_path() const { return dir_ / "last.h5"; }
  std::filesystem::path best_path() const { return dir_ / "best.h5"; }
  const std::filesystem::path& dir() const { return dir_; }

  void save_last(const train::Checkpoint& checkpoint) const;
  /// Saves `checkpoint` as best.h5 when `metric` is higher than the best so far; returns whether it
  /// is (and so whether a writing manager saved it).
  bool save_if_best(const train::Checkpoint& checkpoint, double metric);
  double best() const { return best_; }
  bool writes() const { return writes_; }
  /// The best metric so far (restored when a run resumes).
  void set_best(double metric) { best_ = metric; }

 private:
  std::filesystem::path dir_;
  double best_ = -std::numeric_limits<double>::infinity();
  bool writes_ = true;
};

}  // namespace ag::train
