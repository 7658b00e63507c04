// Fuzz target: tar archives, plain or gzip, extracted through the extraction cache (extract_once:
// a temporary folder, the tree check, the rename into place). An input that starts with the gzip
// magic bytes is saved as input.tar.gz, any other as input.tar: the tar parser is then reached
// without the gzip layer as well (a mutated deflate stream rarely survives its checksum).
// Expected: the extraction succeeds or raises ag::Error; nothing is written outside the cache and
// no temporary folder is left behind.
#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "attograd/core/error.h"
#include "attograd/data/archive.h"
#include "tests/fuzz/fuzz_util.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& dir = ag::fuzz::fresh_scratch();
  static const bool cache_set = ::setenv("XDG_CACHE_HOME", (dir / "cache").c_str(), 1) == 0;
  if (!cache_set) ag::fuzz::broken("cannot set XDG_CACHE_HOME");
  const bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const fs::path archive = dir / (gz ? "input.tar.gz" : "input.tar");
  ag::fuzz::write_file(archive, std::string_view(reinterpret_cast<const char*>(data), size));
  // An entry named "reject" makes the tree check refuse the extraction (that path must clean up too).
  auto accept = [](const fs::path& root) { return fs::exists(root / "reject") ? std::string("a reject entry") : std::string(); };
  try {
    const fs::path out = ag::data::extract_once(archive, "fuzz", accept);
    if (!fs::is_directory(out)) ag::fuzz::broken("extract_once returned no folder");
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_symlink()) ag::fuzz::broken("the extraction created a symbolic link");
  } catch (const ag::Error&) {
    // bad input, reported: the expected outcome for most inputs
  }
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path() != archive && entry.path() != dir / "cache") ag::fuzz::broken("a file was written outside the cache");
  const fs::path cache = dir / "cache" / "attograd";
  int kept = 0;
  if (fs::exists(cache))
    for (const auto& entry : fs::directory_iterator(cache)) {
      if (entry.path().string().find(".partial") != std::string::npos) ag::fuzz::broken("a partial extraction was left");
      ++kept;
    }
  if (kept > 1) ag::fuzz::broken("more than one folder in the cache");
  return 0;
}
