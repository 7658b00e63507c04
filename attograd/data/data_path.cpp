#include "attograd/data/data_path.h"

#include <cstdio>
#include <cstdlib>

#include "attograd/core/error.h"

namespace ag::data {

std::vector<std::filesystem::path> data_search_path(const std::string& flag) {
  if (!flag.empty()) return {flag};
  std::vector<std::filesystem::path> paths;
  if (const char* env = std::getenv("ATTOGRAD_DATA"); env && *env) paths.emplace_back(env);
  paths.emplace_back(ATTOGRAD_DEFAULT_DATA_DIR);
  return paths;
}

std::filesystem::path find_data(const std::string& flag, const std::string& dataset_name,
                                const std::function<bool(const std::filesystem::path&)>& has_dataset,
                                const std::string& how_to_get) {
  std::string tried;
  for (const auto& dir : data_search_path(flag)) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec) && has_dataset(dir)) return dir;
    tried += "\n  " + dir.string() + (std::filesystem::exists(dir, ec) ? " (no " + dataset_name + " there)" : " (missing)");
  }
  const std::string where = flag.empty() ? "$ATTOGRAD_DATA, then the shared/data folder beside the source tree"
                                         : "--data, the only folder looked in when it is given";
  throw Error(fmt::format("{} not found; looked in ({}):{}\n{}", dataset_name, where, tried, how_to_get));
}

std::string data_flag_for_run(const std::string& flag, const std::string& recorded) {
  if (!flag.empty() || recorded.empty()) return flag;
  std::error_code ec;
  if (std::filesystem::is_directory(recorded, ec)) return recorded;
  std::fprintf(stderr, "note: the run's data folder %s is gone; looking for the data in the default places\n",
               recorded.c_str());
  return "";
}

std::filesystem::path cache_dir() {
  std::filesystem::path dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) dir = xdg;
  else if (const char* home = std::getenv("HOME"); home && *home) dir = std::filesystem::path(home) / ".cache";
  else dir = std::filesystem::temp_directory_path();
  dir /= "attograd";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  check(!ec, "cache: cannot create {}: {}", dir.string(), ec.message());
  return dir;
}

}  // namespace ag::data
