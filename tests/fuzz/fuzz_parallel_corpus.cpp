// Fuzz target: the parallel corpus reader. The input holds two files: two bytes give the first
// one's length, the rest is the second. Each is saved as .gz when it starts with the gzip magic
// bytes, else as plain text, then read as a line-aligned pair (read_parallel) and through the
// Multi30k names (find_multi30k, read_multi30k). Expected: a corpus of equal sides and tokens
// without spaces, or an ag::Error.
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <string>

#include "attograd/core/error.h"
#include "attograd/data/parallel_corpus.h"
#include "tests/fuzz/fuzz_util.h"

namespace fs = std::filesystem;

namespace {

bool is_gzip(std::string_view bytes) { return bytes.size() >= 2 && bytes[0] == '\x1f' && bytes[1] == '\x8b'; }

void check(const ag::data::ParallelCorpus& c) {
  if (c.source.size() != c.target.size()) ag::fuzz::broken("the two sides differ in length");
  for (const auto* side : {&c.source, &c.target})
    for (const auto& sentence : *side)
      for (const std::string& token : sentence) {
        if (token.empty()) ag::fuzz::broken("an empty token");
        for (char ch : token)
          if (std::isspace(static_cast<unsigned char>(ch))) ag::fuzz::broken("a token with a space");
      }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& dir = ag::fuzz::fresh_scratch();
  ag::fuzz::Bytes in(data, size);
  const size_t first_size = in.byte() | static_cast<size_t>(in.byte()) << 8;
  const std::string_view first = in.take(first_size), second = in.rest();
  const fs::path src = dir / (is_gzip(first) ? "train.lc.norm.tok.de.gz" : "train.lc.norm.tok.de");
  const fs::path trg = dir / (is_gzip(second) ? "train.lc.norm.tok.en.gz" : "train.lc.norm.tok.en");
  ag::fuzz::write_file(src, first);
  ag::fuzz::write_file(trg, second);
  try {
    check(ag::data::read_parallel(src, trg));
  } catch (const ag::Error&) {
  }
  try {
    const fs::path found = ag::data::find_multi30k(dir.string(), "de");
    if (found != dir) ag::fuzz::broken("find_multi30k did not find the files");
    check(ag::data::read_multi30k(found, "train", "de", "en"));
  } catch (const ag::Error&) {
  }
  return 0;
}
