#pragma once
// --profile FILE for a program's command (imdb and translate train and eval): the profiler records
// the whole command; finish() prints its table and writes the Chrome trace to FILE.

#include <memory>
#include <string>

#include "attograd/core/profiler.h"

namespace ag::train {

/// Profiles from construction (when `path` is not empty) until finish(). Under mpirun each rank
/// profiles itself and rank r > 0 writes FILE with ".rank<r>" before its extension.
class ProfileRun {
 public:
  explicit ProfileRun(const std::string& path, bool record_shapes = false);
  /// Stops recording, prints the table (stdout) and writes the trace; raises ag::Error naming the
  /// file if it cannot be written. Does nothing when no path was given.
  void finish();

 private:
  std::string path_;
  std::unique_ptr<profile::Profiler> profiler_;
};

}  // namespace ag::train
