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
/// each label when per_class > 0 (the lowest ids). Empty or unreadable files are skipped and
/// counted; invalid UTF-8 and odd file names are kept with a warning. Raises ag::Error naming the
/// folder when a class folder is missing, holds no .txt file or no usable review (training on one
/// class is no training), and naming the path for a filesystem error (a symlink loop, say).
ImdbSplit read_imdb_split(const std::filesystem::path& aclimdb, const std::string& split, int64_t per_class = 0);

/// The cheap check before a long run: <aclimdb>/<split>/neg and .../pos both exist and each holds
/// at least one .txt file (counted, not read). Raises the ag::Error read_imdb_split would raise for
/// a missing or empty class folder or a filesystem error; returns normally otherwise.
void check_imdb_split(const std::filesystem::path& aclimdb, const std::string& split);

/// The aclImdb folder: looks along data_search_path() (data_path.h: --data alone, else $ATTOGRAD_DATA,
/// the user data folder, then the program's fallback folders) for a folder holding aclImdb/ or
/// aclImdb_v1.tar.gz. The archive is extracted on first use into the cache
/// folder of its content (archive.h: cache_dir()/aclImdb_v1-<size>-<crc32>), and only when it holds
/// aclImdb/train and aclImdb/test.
std::filesystem::path find_imdb(const std::string& data_flag = "");

}  // namespace ag::data
