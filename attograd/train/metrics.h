#pragma once
// MetricsLog: one CSV row per evaluation (epoch, step, losses, accuracies...), for plots.

#include <filesystem>
#include <string>
#include <vector>

namespace ag::train {

class MetricsLog {
 public:
  /// Opens `path` for appending; writes the header when the file is new. A resumed run drops rows
  /// whose first column (the step) is beyond `resume_step` (they were written after the checkpoint),
  /// so the log continues where the model does. resume_step < 0 keeps everything.
  MetricsLog(std::filesystem::path path, std::vector<std::string> columns, double resume_step = -1);
  /// Appends one row (values in the order of the columns) and flushes it.
  void append(const std::vector<double>& values);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::vector<std::string> columns_;
};

}  // namespace ag::train
