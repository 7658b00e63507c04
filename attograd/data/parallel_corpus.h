#pragma once
// Line-aligned parallel text (one sentence per line in each language), and Multi30k's files.

#include <filesystem>
#include <string>
#include <vector>

namespace ag::data {

/// Sentences as tokens; source[i] translates to target[i].
struct ParallelCorpus {
  std::vector<std::vector<std::string>> source, target;
  int64_t size() const { return static_cast<int64_t>(source.size()); }
};

/// Splits a line on spaces (the tokenised files' format); empty tokens are dropped.
std::vector<std::string> split_tokens(const std::string& line);

/// Reads two line-aligned files, plain or gzip, one tokenised sentence per line. A missing or
/// unreadable file, a truncated or corrupt gzip file, a file named .gz that is not gzip, a file
/// with a NUL byte (not text), or files of different line counts raise ag::Error naming the file
/// (both files and their line counts for a mismatch).
ParallelCorpus read_parallel(const std::filesystem::path& source_file, const std::filesystem::path& target_file);

/// The folder holding Multi30k's files (<split>.lc.norm.tok.<lang>[.gz]) as find_data finds it:
/// --data alone when given, else $ATTOGRAD_DATA, the user data folder, then the program's fallback
/// folders (data_path.h; each folder itself or its multi30k/ subfolder); the first that has
/// train.lc.norm.tok.<lang> or its .gz.
std::filesystem::path find_multi30k(const std::string& data_flag = "", const std::string& lang = "en");

/// Multi30k's lowercased tokenised split ("train", "val", "test_2016_flickr") for a language pair.
ParallelCorpus read_multi30k(const std::filesystem::path& dir, const std::string& split, const std::string& src,
                             const std::string& trg);

}  // namespace ag::data
