#include "data/tokenizer.h"

namespace ag::data {

namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

}  // namespace

std::vector<std::string> tokenize_review(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    // A lone apostrophe (a quote mark between words) is not a word.
    if (!word.empty() && word.find_first_not_of('\'') != std::string::npos) words.push_back(word);
    word.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '<' && text.compare(i, 6, "<br />") == 0) {  // line breaks in the reviews
      flush();
      i += 5;
      continue;
    }
    if (!is_word_byte(c)) {
      flush();
      continue;
    }
    if (c >= 'A' && c <= 'Z') {
      word += static_cast<char>(c - 'A' + 'a');
    } else if (c == 0xC3 && i + 1 < text.size()) {
      // Latin-1 capitals U+00C0..U+00DE (but U+00D7, the multiplication sign) are C3 80..C3 9E in
      // UTF-8; their small letters are 0x20 higher.
      const unsigned char next = static_cast<unsigned char>(text[i + 1]);
      word += static_cast<char>(c);
      word += static_cast<char>(next >= 0x80 && next <= 0x9E && next != 0x97 ? next + 0x20 : next);
      ++i;
    } else {
      word += static_cast<char>(c);
    }
  }
  flush();
  return words;
}

bool valid_utf8(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = byte(i);
    // How many continuation bytes follow, and the allowed range of the first one (this excludes
    // overlong forms, UTF-16 surrogates and code points above U+10FFFF).
    int extra = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (c < 0x80) extra = 0;
    else if (c >= 0xC2 && c <= 0xDF) extra = 1;
    else if (c >= 0xE0 && c <= 0xEF) extra = 2, low = c == 0xE0 ? 0xA0 : 0x80, high = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) extra = 3, low = c == 0xF0 ? 0x90 : 0x80, high = c == 0xF4 ? 0x8F : 0xBF;
    else return false;
    if (i + extra >= text.size() && extra > 0) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char b = byte(i + k);
      if (k == 1 ? (b < low || b > high) : (b < 0x80 || b > 0xBF)) return false;
    }
    i += 1 + extra;
  }
  return true;
}

}  // namespace ag::data
