#pragma once
// Text to words: the IMDB tokenizer, and UTF-8 validation for the loaders.

#include <string>
#include <string_view>
#include <vector>

namespace ag::data {

/// Words of a movie review: lowercase, "<br />" tags removed, words are runs of letters, digits and
/// apostrophes ("don't", "80s"); everything else separates words. Letters outside ASCII (UTF-8
/// sequences, e.g. "café") count as letters; ASCII and Latin-1 capitals are lowercased.
std::vector<std::string> tokenize_review(std::string_view text);

/// A raw sentence the way Multi30k's *.lc.norm.tok.* files are tokenised (Moses-style): lowercase,
/// punctuation split off as tokens, a hyphen touching a word stays on it ("blond-haired", "zwei-",
/// "-banner"), double and typographic quotes become "&quot;", ampersands "&amp;". An apostrophe
/// inside a word starts a clitic: "&apos;s" in English, "&apos;" "s" in other languages (as Moses).
std::vector<std::string> tokenize_sentence(std::string_view text, std::string_view language = "en");

/// The length in bytes (1-4) of the well-formed UTF-8 character at text[i], or 0 when the bytes
/// there are not one (a stray continuation byte, an overlong form, a surrogate, a truncated end).
size_t utf8_char_length(std::string_view text, size_t i);

/// True when `text` is well-formed UTF-8.
bool valid_utf8(std::string_view text);

}  // namespace ag::data
