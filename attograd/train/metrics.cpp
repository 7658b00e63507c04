#include "attograd/train/metrics.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "attograd/core/error.h"
#include "attograd/nn/sealed_file.h"

namespace ag::train {

MetricsLog::MetricsLog(std::filesystem::path path, std::vector<std::string> columns, double resume_step)
    : path_(std::move(path)), columns_(std::move(columns)) {
  check(!columns_.empty(), "MetricsLog: no columns");
  const std::string header = fmt::format("{}", fmt::join(columns_, ","));
  std::string kept = header + "\n";
  if (std::filesystem::exists(path_)) {
    std::istringstream in(read_whole_file(path_.string()));
    std::string row;
    std::getline(in, row);
    check(row == header, "MetricsLog: {} has columns '{}', expected '{}'", path_.string(), row, header);
    for (int64_t line = 2; std::getline(in, row); ++line) {
      if (row.empty()) continue;
      char* end = nullptr;
      errno = 0;
      const double step = std::strtod(row.c_str(), &end);
      check(end != row.c_str() && errno == 0 && (*end == ',' || *end == '\0'),
            "MetricsLog: {} line {} does not start with a step number: '{}'", path_.string(), line, row);
      if (resume_step >= 0 && step > resume_step) continue;  // written after the checkpoint resumed from
      kept += row + "\n";
    }
  }
  // Rewritten atomically: a full disk now must not lose the rows already logged.
  write_file_atomically(path_.string(), kept);
}

void MetricsLog::append(const std::vector<double>& values) {
  check(values.size() == columns_.size(), "MetricsLog: {} values for {} columns", values.size(), columns_.size());
  std::vector<std::string> cells;
  for (double v : values) cells.push_back(fmt::format("{:.6g}", v));
  std::ofstream out(path_, std::ios::app);
  out << fmt::format("{}", fmt::join(cells, ",")) << '\n';
  out.flush();
  check(out.good(), "MetricsLog: cannot append to {} (disk full?)", path_.string());
}

}  // namespace ag::train
