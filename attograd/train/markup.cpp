#include "attograd/train/markup.h"

#include "attograd/data/tokenizer.h"

namespace ag::train {

std::string escape_markup(const std::string& text) {
  const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = data::utf8_char_length(text, i);
    if (n == 0) {  // a byte that starts no well-formed character
      out += replacement;
      i += 1;
    } else if (n > 1) {  // U+FFFE and U+FFFF are well-formed UTF-8 but not XML characters
      const std::string_view c(text.data() + i, n);
      out += c == "\xEF\xBF\xBE" || c == "\xEF\xBF\xBF" ? replacement : std::string(c);
      i += n;
    } else {
      const char c = text[i++];
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out += c >= 0x20 || c == '\t' || c == '\n' || c == '\r' ? std::string(1, c) : replacement;
      }
    }
  }
  return out;
}

}  // namespace ag::train
