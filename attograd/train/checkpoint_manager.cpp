#include "attograd/train/checkpoint_manager.h"

#include <regex>

#include <fmt/format.h>

#include "attograd/core/error.h"
#include "attograd/train/run_lock.h"

namespace ag::train {

namespace {

// Temporary files of the run's own files (last.h5.tmp-<pid>, ...): a process killed while writing
// leaves one behind.
bool is_run_temporary(const std::string& name) {
  static const std::regex temporary(R"((last|best|epoch\d+)\.h5\.tmp-\d+|metrics\.csv\.tmp-\d+)");
  return std::regex_match(name, temporary);
}

}  // namespace

CheckpointManager::CheckpointManager(std::filesystem::path run_dir, bool writes)
    : dir_(std::move(run_dir)), writes_(writes) {
  if (!writes_) return;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  check(!ec, "checkpoints: cannot create the run folder {}: {}", dir_.string(), ec.message());
  // The run holds the folder's lock, so no one else is writing these: they are a dead run's.
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
    if (is_run_temporary(entry.path().filename().string())) std::filesystem::remove(entry.path(), ec);
}

namespace {

constexpr const char* kRunFiles[] = {"last.h5", "best.h5"};

bool holds_run(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const char* name : kRunFiles)
    if (std::filesystem::exists(dir / name, ec)) return true;
  return RunLock::held(dir);  // a run that has not saved yet
}

}  // namespace

void CheckpointManager::start_new_run(const std::filesystem::path& run_dir, bool overwrite) {
  if (overwrite) {
    const std::regex epoch_file(R"(epoch\d+\.h5)");
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(run_dir, ec))
      if (std::regex_match(entry.path().filename().string(), epoch_file))
        std::filesystem::remove(entry.path(), ec);
    return;
  }
  for (const char* name : kRunFiles) {
    std::error_code ec;
    const std::filesystem::path file = run_dir / name;
    check(!std::filesystem::exists(file, ec),
          "{} already holds a run ({}): continue it with --resume {}, start over with --overwrite, or choose "
          "another --out",
          run_dir.string(), file.string(), run_dir.string());
  }
}

std::filesystem::path CheckpointManager::first_free_run_dir(const std::filesystem::path& base) {
  std::filesystem::path dir = base;
  for (int n = 2; holds_run(dir); ++n) dir = base.string() + "-" + std::to_string(n);
  if (dir != base) fmt::print("{} holds a run; this one goes to {}\n", base.string(), dir.string());
  return dir;
}

void CheckpointManager::save_last(const train::Checkpoint& checkpoint) const {
  if (writes_) train::save_checkpoint(last_path(), checkpoint);
}

bool CheckpointManager::save_if_best(const train::Checkpoint& checkpoint, double metric) {
  if (!(metric > best_)) return false;
  if (writes_) train::save_checkpoint(best_path(), checkpoint);
  best_ = metric;
  return true;
}

}  // namespace ag::train
