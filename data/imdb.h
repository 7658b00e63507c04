#pragma once
// The Large Movie Review Dataset (Maas et al., 2011): the aclImdb folder layout, or the
// aclImdb_v1.tar.gz archive users download, extracted once into the cache.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ag::data {

struct Review {
  std::string text;
  int label = 0;    // 1 positive (pos/), 0 negative (neg/)
  int rating = -1;  // the stars in the file name <id>_<rating>.txt (-1 when the name has none)
  int64_t id = -1;
};

/// One split's reviews (neg first, then pos, each in id order) and what was wrong on the way.
struct ImdbSplit {
  std::vector<Review> reviews;
  int64_t skipped = 0;                // empty or unreadable files
  std::vector<std::string> warnings;  // one line per skipped or suspicious file
};

/// Reads <aclimdb>/<split>/{neg,pos}/*.txt (split "train" or "test"). At most `per_class` reviews of
/// each label when per_class > 0 (the lowest ids). A missing folder raises ag::Error naming it;
/// empty or unreadable files are skipped and counted, invalid UTF-8 and odd file names are kept
/// with a warning.
ImdbSplit read_imdb_split(const std::filesystem::path& aclimdb, const std::string& split, int64_t per_class = 0);

/// The aclImdb folder: looks (as DESIGN.md says: --data, $ATTOGRAD_DATA, shared/data) for a folder
/// holding aclImdb/ or aclImdb_v1.tar.gz, extracting the archive into the cache on first use.
std::filesystem::path find_imdb(const std::string& data_flag = "");

}  // namespace ag::data
