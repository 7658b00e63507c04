#include "data/imdb.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/archive.h"
#include "data/data_path.h"
#include "data/tokenizer.h"

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

}  // namespace

ImdbSplit read_imdb_split(const fs::path& aclimdb, const std::string& split, int64_t per_class) {
  ImdbSplit out;
  for (const int label : {0, 1}) {
    const fs::path dir = aclimdb / split / (label ? "pos" : "neg");
    check(fs::is_directory(dir), "imdb: folder {} is missing (expected the aclImdb layout {}/{{pos,neg}}/<id>_<rating>.txt)",
          dir.string(), split);
    struct Entry {
      fs::path path;
      int64_t id;
      int rating;
    };
    std::vector<Entry> entries;
    for (const auto& file : fs::directory_iterator(dir)) {
      if (!file.is_regular_file() || file.path().extension() != ".txt") continue;
      const auto [id, rating] = parse_name(file.path().stem().string());
      if (id < 0) out.warnings.push_back(fmt::format("{}: name is not <id>_<rating>.txt; rating unknown", file.path().string()));
      entries.push_back({file.path(), id, rating});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.id != b.id ? a.id < b.id : a.path < b.path;
    });
    int64_t kept = 0;
    for (const Entry& e : entries) {
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
  }
  return out;
}

fs::path find_imdb(const std::string& data_flag) {
  auto has = [](const fs::path& dir) {
    return fs::is_directory(dir / "aclImdb" / "train") || fs::is_regular_file(dir / "aclImdb_v1.tar.gz") ||
           fs::is_directory(dir / "train" / "pos");
  };
  const fs::path dir = find_data(data_flag, "the IMDB reviews (aclImdb/ or aclImdb_v1.tar.gz)", has,
                                 "Download aclImdb_v1.tar.gz from https://ai.stanford.edu/~amaas/data/sentiment/ and put "
                                 "it (or its extracted aclImdb/ folder) in one of those folders, or pass --data DIR.");
  if (fs::is_directory(dir / "train" / "pos")) return dir;  // --data pointed at aclImdb itself
  if (fs::is_directory(dir / "aclImdb" / "train")) return dir / "aclImdb";
  return extract_once(dir / "aclImdb_v1.tar.gz", "aclImdb_v1") / "aclImdb";
}

}  // namespace ag::data
