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

/// True when `text` is well-formed UTF-8.
bool valid_utf8(std::string_view text);

}  // namespace ag::data
