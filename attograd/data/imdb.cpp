#include "attograd/data/imdb.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "attograd/core/error.h"
#include "attograd/data/archive.h"
#include "attograd/data/data_path.h"
#include "attograd/data/tokenizer.h"

namespace ag::data {

namespace fs = std::filesystem;

namespace {

// "<id>_<rating>.txt" -> (id, rating); (-1, -1) when the name does not have that form.
std::pair<int64_t, int> parse_name(const std::string& stem) {
  const size_t underscore = stem.find('_');
  if (underscore == std::string::npos || underscore == 0 || underscore + 1 == stem.size()) return {-1, -1};
  try {
    size_t used_id = 0, used_rating = 0;
    const int64_t id = std::stoll(stem.substr(0, underscore), &used_id);
    const int rating = std::stoi(stem.substr(underscore + 1), &used_rating);
    if (used_id != underscore || used_rating != stem.size() - underscore - 1) return {-1, -1};
    return {id, rating};
  } catch (const std::exception&) {
    return {-1, -1};
  }
}

// A path's type, following links; file_type::not_found when nothing is there. Other failures (a symlink
// loop, a permission denied) raise ag::Error naming the path.
fs::file_type type_of(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) return fs::file_type::not_found;
  check(!ec, "imdb: cannot read {}: {}", path.string(), ec.message());
  return status.type();
}

bool is_folder(const fs::path& path) { return type_of(path) == fs::file_type::directory; }

struct ReviewFile {
  fs::path path;
  int64_t id;
  int rating;
};

// The <split>/<neg|pos> folder's .txt files sorted by id (then by path), without reading them; a
// missing or empty folder raises ag::Error naming it. Odd names add a warning when `warnings`.
std::vector<ReviewFile> list_reviews(const fs::path& aclimdb, const std::string& split, int label,
                                     std::vector<std::string>* warnings) {
  const fs::path dir = aclimdb / split / (label ? "pos" : "neg");
  check(is_folder(dir), "imdb: folder {} is missing (expected the aclImdb layout {}/{{pos,neg}}/<id>_<rating>.txt)",
        dir.string(), split);
  std::vector<ReviewFile> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (path.extension() != ".txt" || type_of(path) != fs::file_type::regular) continue;
    const auto [id, rating] = parse_name(path.stem().string());
    if (id < 0 && warnings) warnings->push_back(fmt::format("{}: name is not <id>_<rating>.txt; rating unknown", path.string()));
    files.push_back({path, id, rating});
  }
  check(!ec, "imdb: cannot list the folder {}: {}", dir.string(), ec.message());
  check(!files.empty(), "imdb: folder {} has no reviews (no .txt files); both {}/neg and {}/pos need some", dir.string(),
        split, split);
  std::sort(files.begin(), files.end(), [](const ReviewFile& a, const ReviewFile& b) {
    return a.id != b.id ? a.id < b.id : a.path < b.path;
  });
  return files;
}

}  // namespace

ImdbSplit read_imdb_split(const fs::path& aclimdb, const std::string& split, int64_t per_class) {
  ImdbSplit out;
  for (const int label : {0, 1}) {
    const std::vector<ReviewFile> files = list_reviews(aclimdb, split, label, &out.warnings);
    int64_t kept = 0;
    for (const ReviewFile& e : files) {
      if (per_class > 0 && kept >= per_class) break;
      std::ifstream in(e.path, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      if (!in.good() && !in.eof()) {
        ++out.skipped;
        out.warnings.push_back(fmt::format("{}: unreadable, skipped", e.path.string()));
        continue;
      }
      Review r{text.str(), label, e.rating, e.id};
      if (r.text.find_first_not_of(" \t\r\n") == std::string::npos) {
        ++out.skipped;
        out.warnings.push_back(fmt::format("{}: empty, skipped", e.path.string()));
        continue;
      }
      if (!valid_utf8(r.text)) out.warnings.push_back(fmt::format("{}: invalid UTF-8, read as bytes", e.path.string()));
      out.reviews.push_back(std::move(r));
      ++kept;
    }
    check(kept > 0, "imdb: folder {} has no usable reviews ({} files, all empty or unreadable)",
          (aclimdb / split / (label ? "pos" : "neg")).string(), files.size());
  }
  return out;
}

void check_imdb_split(const fs::path& aclimdb, const std::string& split) {
  for (const int label : {0, 1}) list_reviews(aclimdb, split, label, nullptr);
}

fs::path find_imdb(const std::string& data_flag) {
  auto has = [](const fs::path& dir) {
    return is_folder(dir / "aclImdb" / "train") || type_of(dir / "aclImdb_v1.tar.gz") == fs::file_type::regular ||
           is_folder(dir / "train" / "pos");
  };
  const fs::path dir = find_data(data_flag, "the IMDB reviews (aclImdb/ or aclImdb_v1.tar.gz)", has,
                                 "Download aclImdb_v1.tar.gz from https://ai.stanford.edu/~amaas/data/sentiment/ and put "
                                 "it (or its extracted aclImdb/ folder) in one of those folders, or pass --data DIR.");
  if (is_folder(dir / "train" / "pos")) return dir;  // --data pointed at aclImdb itself
  if (is_folder(dir / "aclImdb" / "train")) return dir / "aclImdb";
  // The archive must hold both splits: anything else is refused before it enters the cache.
  auto has_splits = [](const fs::path& root) -> std::string {
    for (const char* split : {"train", "test"})
      if (!is_folder(root / "aclImdb" / split)) return fmt::format("it has no aclImdb/{} folder", split);
    return "";
  };
  return extract_once(dir / "aclImdb_v1.tar.gz", "aclImdb_v1", has_splits) / "aclImdb";
}

}  // namespace ag::data
