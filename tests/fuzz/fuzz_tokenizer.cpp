// Fuzz target: the tokenizers and the UTF-8 checks, on the input as text. Expected (no ag::Error
// here: every text tokenizes): no empty token and no token with a space; from valid UTF-8, only
// valid UTF-8 tokens; utf8_char_length agrees with valid_utf8 and never reaches past the end.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attograd/core/error.h"
#include "attograd/data/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

void check_tokens(const std::vector<std::string>& tokens, bool valid_input, bool review) {
  for (const std::string& t : tokens) {
    if (t.empty()) ag::fuzz::broken("an empty token");
    for (char c : t)
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') ag::fuzz::broken("a token with a space");
    if (valid_input && !ag::data::valid_utf8(t)) ag::fuzz::broken("a token of valid UTF-8 text is not valid UTF-8");
    if (review && valid_input && t.find('<') != std::string::npos) ag::fuzz::broken("a review word with '<'");
    if (review && t.find_first_not_of('\'') == std::string::npos) ag::fuzz::broken("a review word of apostrophes only");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool walked_valid = true;
  for (size_t i = 0; i < text.size(); ++i) {
    const size_t n = ag::data::utf8_char_length(text, i);
    if (n > 4 || i + n > text.size()) ag::fuzz::broken("utf8_char_length reaches past the end");
    if (n == 0) walked_valid = false;
    if (n > 1) i += n - 1;
  }
  const bool valid = ag::data::valid_utf8(text);
  if (valid != walked_valid) ag::fuzz::broken("valid_utf8 disagrees with utf8_char_length");
  check_tokens(ag::data::tokenize_review(text), valid, /*review=*/true);
  check_tokens(ag::data::tokenize_sentence(text, "en"), valid, false);
  check_tokens(ag::data::tokenize_sentence(text, "de"), valid, false);
  return 0;
}
