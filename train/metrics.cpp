#include "train/metrics.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace ag::train {

MetricsLog::MetricsLog(std::filesystem::path path, std::vector<std::string> columns, double resume_step)
    : path_(std::move(path)), columns_(std::move(columns)) {
  check(!columns_.empty(), "MetricsLog: no columns");
  const std::string header = fmt::format("{}", fmt::join(columns_, ","));
  std::vector<std::string> kept;
  if (std::filesystem::exists(path_)) {
    std::ifstream in(path_);
    std::string row;
    std::getline(in, row);
    check(row == header, "MetricsLog: {} has columns '{}', expected '{}'", path_.string(), row, header);
    while (std::getline(in, row)) {
      if (row.empty()) continue;
      if (resume_step >= 0 && std::stod(row.substr(0, row.find(','))) > resume_step) continue;
      kept.push_back(row);
    }
  }
  std::ofstream out(path_, std::ios::trunc);
  check(out.good(), "MetricsLog: cannot write {}", path_.string());
  out << header << '\n';
  for (const std::string& row : kept) out << row << '\n';
}

void MetricsLog::append(const std::vector<double>& values) {
  check(values.size() == columns_.size(), "MetricsLog: {} values for {} columns", values.size(), columns_.size());
  std::ofstream out(path_, std::ios::app);
  std::vector<std::string> cells;
  for (double v : values) cells.push_back(fmt::format("{:.6g}", v));
  out << fmt::format("{}", fmt::join(cells, ",")) << '\n';
  check(out.good(), "MetricsLog: cannot append to {}", path_.string());
}

}  // namespace ag::train
