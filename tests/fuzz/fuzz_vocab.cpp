// Fuzz target: vocabularies (Vocab::build, from_tokens, id, encode, token) on token lists cut from
// the input: a byte of options, the special tokens (one line each), then the words ('\n' or ' '
// between them). Expected: a vocabulary that keeps its promises (specials first, then words by
// decreasing count and byte order, ids and tokens inverse, unknown words to unk), or an ag::Error.
#include <cstdint>
#include <string>
#include <vector>

#include "attograd/core/error.h"
#include "attograd/data/vocab.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using ag::fuzz::broken;

void check_vocab(const ag::data::Vocab& v, const std::vector<std::string>& words) {
  for (int64_t i = 0; i < v.size(); ++i) {
    if (v.id(v.token(i)) != i || !v.contains(v.token(i))) broken("id(token(i)) is not i");
  }
  const std::vector<int64_t> ids = v.encode(words);
  if (ids.size() != words.size()) broken("encode changed the length");
  for (size_t k = 0; k < words.size(); ++k) {
    if (ids[k] != v.id(words[k])) broken("encode differs from id");
    if (!v.contains(words[k]) && ids[k] != v.unk_id()) broken("an unknown word is not unk");
  }
  for (int64_t bad : {int64_t{-1}, v.size(), INT64_MIN, INT64_MAX}) {
    bool raised = false;
    try {
      v.token(bad);
    } catch (const ag::Error&) {
      raised = true;
    }
    if (!raised) broken("token() accepted an id out of range");
  }
  const ag::data::Vocab copy = ag::data::Vocab::from_tokens(v.tokens(), v.token(v.unk_id()));
  if (copy.tokens() != v.tokens() || copy.unk_id() != v.unk_id()) broken("from_tokens(tokens()) is another vocabulary");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ag::fuzz::Bytes in(data, size);
  const uint8_t options = in.byte();
  const int64_t max_size = in.byte() % 64;  // 0: no limit
  const int64_t min_freq = options >> 4;
  std::vector<std::string> specials;
  for (int i = 0; i <= (options & 3); ++i) specials.emplace_back(in.until('\n'));
  const std::string unk = specials[(options >> 2) % specials.size()];
  std::vector<std::string> words;
  for (std::string_view rest = in.rest(); !rest.empty();) {
    const size_t end = rest.find_first_of("\n ");
    words.emplace_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  ag::data::WordCounts counts;
  ag::data::count_words(words, counts);
  try {
    const ag::data::Vocab v = ag::data::Vocab::build(counts, specials, unk, max_size, min_freq);
    if (!std::equal(specials.begin(), specials.end(), v.tokens().begin())) broken("the specials are not first, in order");
    if (max_size > 0 && v.size() > std::max<int64_t>(max_size, static_cast<int64_t>(specials.size())))
      broken("more tokens than max_size");
    for (int64_t i = static_cast<int64_t>(specials.size()); i < v.size(); ++i) {
      const int64_t n = counts.at(v.token(i));
      if (n < min_freq) broken("a word below min_freq");
      if (i > static_cast<int64_t>(specials.size())) {
        const int64_t before = counts.at(v.token(i - 1));
        if (before < n || (before == n && v.token(i - 1) >= v.token(i))) broken("words not by count, then byte order");
      }
    }
    check_vocab(v, words);
  } catch (const ag::Error&) {
    // specials that repeat: reported
  }
  try {
    check_vocab(ag::data::Vocab::from_tokens(words, unk), words);
  } catch (const ag::Error&) {
    // a repeated token, or no unk among them: reported
  }
  return 0;
}
