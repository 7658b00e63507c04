#include "attograd/data/data_path.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "attograd/core/error.h"

namespace ag::data {
namespace {

// The folders add_fallback_data_dir() added, behind a lock: programs may add while others search.
struct FallbackDirs {
  std::mutex mutex;
  std::vector<std::filesystem::path> dirs;
};

FallbackDirs& fallback_dirs() {
  static FallbackDirs fallbacks;  // function-local: safe to use from other files' static initializers
  return fallbacks;
}

const char* env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

}  // namespace

std::filesystem::path user_data_dir() {
  if (const char* xdg = env_or_null("XDG_DATA_HOME")) return std::filesystem::path(xdg) / "attograd";
  if (const char* home = env_or_null("HOME")) return std::filesystem::path(home) / ".local" / "share" / "attograd";
  return {};
}

void add_fallback_data_dir(const std::filesystem::path& dir) {
  FallbackDirs& fallbacks = fallback_dirs();
  const std::lock_guard lock(fallbacks.mutex);
  if (std::find(fallbacks.dirs.begin(), fallbacks.dirs.end(), dir) == fallbacks.dirs.end())
    fallbacks.dirs.push_back(dir);
}

std::vector<std::filesystem::path> data_search_path(const std::string& flag) {
  if (!flag.empty()) return {flag};
  std::vector<std::filesystem::path> paths;
  if (const char* env = env_or_null("ATTOGRAD_DATA")) paths.emplace_back(env);
  if (std::filesystem::path user = user_data_dir(); !user.empty()) paths.push_back(user);
  FallbackDirs& fallbacks = fallback_dirs();
  const std::lock_guard lock(fallbacks.mutex);
  paths.insert(paths.end(), fallbacks.dirs.begin(), fallbacks.dirs.end());
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
  const std::string where =
      flag.empty() ? "$ATTOGRAD_DATA, the user data folder ($XDG_DATA_HOME/attograd or ~/.local/share/attograd), "
                     "then the program's own folders"
                   : "--data, the only folder looked in when it is given";
  throw Error(fmt::format("{} not found; looked in ({}):{}\n{}", dataset_name, where, tried, how_to_get));
}

std::string data_flag_for_run(const std::string& flag, const std::string& recorded) {
  if (!flag.empty() || recorded.empty()) return flag;
  std::error_code ec;
  if (std::filesystem::is_directory(recorded, ec)) return recorded;
  fmt::print(stderr, "note: the run's data folder {} is gone; looking for the data in the default places\n", recorded);
  return "";
}

std::filesystem::path cache_dir() {
  std::filesystem::path dir;
  if (const char* xdg = env_or_null("XDG_CACHE_HOME")) dir = xdg;
  else if (const char* home = env_or_null("HOME")) dir = std::filesystem::path(home) / ".cache";
  else dir = std::filesystem::temp_directory_path();
  dir /= "attograd";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  check(!ec, "cache: cannot create {}: {}", dir.string(), ec.message());
  return dir;
}

}  // namespace ag::data
