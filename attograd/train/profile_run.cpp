#include "attograd/train/profile_run.h"

#include <filesystem>

#include <fmt/format.h>

#include "attograd/dist/dist.h"

namespace ag::train {

ProfileRun::ProfileRun(const std::string& path, bool record_shapes) {
  if (path.empty()) return;
  path_ = path;
  if (dist::rank() > 0) {
    std::filesystem::path p(path);
    path_ = (p.parent_path() / fmt::format("{}.rank{}{}", p.stem().string(), dist::rank(), p.extension().string())).string();
  }
  profile::Options options;
  options.record_shapes = record_shapes;
  profiler_ = std::make_unique<profile::Profiler>(options);
}

void ProfileRun::finish() {
  if (!profiler_) return;
  profiler_->stop();
  fmt::print("\nprofile (self time: the op's own, without the events nested in it):\n{}", profiler_->table());
  profiler_->write_chrome_trace(path_);
  fmt::print("wrote the trace to {} (open it in chrome://tracing or ui.perfetto.dev)\n", path_);
  profiler_.reset();
}

}  // namespace ag::train
