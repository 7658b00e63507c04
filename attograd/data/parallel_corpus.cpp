#include "attograd/data/parallel_corpus.h"

#include <sstream>

#include "attograd/core/error.h"
#include "attograd/data/data_path.h"
#include "attograd/data/input_file.h"

namespace ag::data {

namespace fs = std::filesystem;

std::vector<std::string> split_tokens(const std::string& line) {
  std::vector<std::string> tokens;
  std::istringstream in(line);
  for (std::string t; in >> t;) tokens.push_back(t);
  return tokens;
}

namespace {
// A text file's lines (plain or gzip; a truncated or fake .gz, or a NUL byte, raises naming the file).
std::vector<std::string> read_lines(const fs::path& path) {
  const std::string text = read_text_file(path);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}
}  // namespace

ParallelCorpus read_parallel(const fs::path& source_file, const fs::path& target_file) {
  const std::vector<std::string> source = read_lines(source_file), target = read_lines(target_file);
  check(source.size() == target.size(), "parallel corpus: {} has {} lines but {} has {}; they must be line-aligned",
        source_file.string(), source.size(), target_file.string(), target.size());
  ParallelCorpus corpus;
  for (size_t i = 0; i < source.size(); ++i) {
    corpus.source.push_back(split_tokens(source[i]));
    corpus.target.push_back(split_tokens(target[i]));
  }
  return corpus;
}

fs::path find_multi30k(const std::string& data_flag, const std::string& lang) {
  const std::string train = "train.lc.norm.tok." + lang;
  auto holds = [&](const fs::path& dir) { return fs::exists(dir / train) || fs::exists(dir / (train + ".gz")); };
  auto has = [&](const fs::path& dir) { return holds(dir) || holds(dir / "multi30k"); };
  const fs::path dir = find_data(data_flag, "Multi30k (" + train + "[.gz] and friends)", has,
                                 "Get the task-1 files (train/val/test_2016_flickr, .lc.norm.tok.{de,en}.gz) from the "
                                 "Multi30k repository (github.com/multi30k/dataset, data/task1/tok) and put them in a "
                                 "multi30k/ folder in one of those folders, or pass --data DIR.");
  return holds(dir) ? dir : dir / "multi30k";
}

ParallelCorpus read_multi30k(const fs::path& dir, const std::string& split, const std::string& src,
                             const std::string& trg) {
  auto file = [&](const std::string& lang) {
    const fs::path gz = dir / (split + ".lc.norm.tok." + lang + ".gz");
    return fs::exists(gz) ? gz : dir / (split + ".lc.norm.tok." + lang);
  };
  return read_parallel(file(src), file(trg));
}

}  // namespace ag::data
