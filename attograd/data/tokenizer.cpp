#include "attograd/data/tokenizer.h"

#include <cctype>

namespace ag::data {

namespace {

// A UTF-8 continuation byte (10xxxxxx): the second to fourth bytes of a character.
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

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
    } else if (c == 0xC3 && i + 1 < text.size() && is_continuation(text[i + 1])) {
      // Latin-1 capitals U+00C0..U+00DE (but U+00D7, the multiplication sign) are C3 80..C3 9E in
      // UTF-8; their small letters are 0x20 higher. (A C3 without its continuation byte is invalid
      // UTF-8, kept as a byte: the byte after it, a space say, is not swallowed into the word.)
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

namespace {

// Appends the lowercase of the UTF-8 character starting at text[i] and returns its byte length.
// ASCII and the Latin-1 capitals (C3 80..C3 9E but C3 97) are lowercased; others are copied.
size_t append_lower(std::string_view text, size_t i, std::string& out) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (c >= 'A' && c <= 'Z') {
    out += static_cast<char>(c - 'A' + 'a');
    return 1;
  }
  if (c == 0xC3 && i + 1 < text.size() && is_continuation(text[i + 1])) {
    const unsigned char next = static_cast<unsigned char>(text[i + 1]);
    out += static_cast<char>(c);
    out += static_cast<char>(next >= 0x80 && next <= 0x9E && next != 0x97 ? next + 0x20 : next);
    return 2;
  }
  out += static_cast<char>(c);
  return 1;
}

// <cctype>'s isdigit is undefined for a negative char (a byte above 0x7F): compare instead.
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_alnum_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

}  // namespace

// Byte length of a typographic double quote (U+201C, U+201D, U+201E, U+00AB, U+00BB) at text[i], else 0.
size_t typographic_quote(std::string_view text, size_t i) {
  if (text.compare(i, 3, "\xE2\x80\x9C") == 0 || text.compare(i, 3, "\xE2\x80\x9D") == 0 ||
      text.compare(i, 3, "\xE2\x80\x9E") == 0)
    return 3;
  if (text.compare(i, 2, "\xC2\xAB") == 0 || text.compare(i, 2, "\xC2\xBB") == 0) return 2;
  return 0;
}

std::vector<std::string> tokenize_sentence(std::string_view text, std::string_view language) {
  std::vector<std::string> tokens;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) tokens.push_back(word);
    word.clear();
  };
  auto alnum_at = [&](size_t i) {
    return i < text.size() && is_alnum_byte(static_cast<unsigned char>(text[i])) && !typographic_quote(text, i) &&
           text.compare(i, 2, "\xC2\xA0") != 0;
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (text.compare(i, 2, "\xC2\xA0") == 0) {  // a no-break space separates words like a space
      flush();
      i += 2;
    } else if (const size_t q = typographic_quote(text, i)) {
      flush();
      tokens.push_back("&quot;");
      i += q;
    } else if (alnum_at(i)) {
      i += append_lower(text, i, word);
    } else if (c == '-' && (alnum_at(i + 1) || (i > 0 && alnum_at(i - 1)))) {  // blond-haired, zwei-, -banner
      word += '-';
      ++i;
    } else if ((c == '.' || c == ',') && i > 0 && is_digit(text[i - 1]) && i + 1 < text.size() && is_digit(text[i + 1])) {
      word += static_cast<char>(c);  // 3.5, 1,000
      ++i;
    } else if (c == '\'' && i > 0 && alnum_at(i - 1) && alnum_at(i + 1)) {  // mcdonald's
      flush();
      if (language == "en") {
        word = "&apos;";  // the clitic keeps its apostrophe: &apos;s
      } else {
        tokens.push_back("&apos;");
      }
      ++i;
    } else {
      flush();
      if (c == '"') tokens.push_back("&quot;");
      else if (c == '\'') tokens.push_back("&apos;");
      else if (c == '&') tokens.push_back("&amp;");
      else if (!std::isspace(c)) tokens.push_back(std::string(1, static_cast<char>(c)));
      ++i;
    }
  }
  flush();
  return tokens;
}

size_t utf8_char_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  // How many continuation bytes follow, and the allowed range of the first one (this excludes
  // overlong forms, UTF-16 surrogates and code points above U+10FFFF).
  size_t extra = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (c < 0x80) extra = 0;
  else if (c >= 0xC2 && c <= 0xDF) extra = 1;
  else if (c >= 0xE0 && c <= 0xEF) extra = 2, low = c == 0xE0 ? 0xA0 : 0x80, high = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4) extra = 3, low = c == 0xF0 ? 0x90 : 0x80, high = c == 0xF4 ? 0x8F : 0xBF;
  else return 0;
  if (i + extra >= text.size() && extra > 0) return 0;
  for (size_t k = 1; k <= extra; ++k) {
    const unsigned char b = byte(i + k);
    if (k == 1 ? (b < low || b > high) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return 1 + extra;
}

bool valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_char_length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace ag::data
