#pragma once
// `imdb predict`: probabilities for raw texts, and the --explain page that shades every word by the
// attention the model gave it.

#include <string>
#include <vector>

#include "attograd/data/vocab.h"
#include "examples/imdb/model.h"

namespace imdb {

/// One text's prediction, with each of its words and the attention weight of that word's position
/// (0 for words the model did not see because the text was longer than maxlen).
struct TextPrediction {
  std::string text;
  double probability = 0;  // P(positive)
  std::vector<std::string> words;
  std::vector<double> word_weights;
  double start_weight = 0;  // attention on the start token (when it survived truncation)
  int64_t words_seen = 0;   // words inside the model's window
};

/// Runs the model (eval mode, no recording) on each text.
std::vector<TextPrediction> predict(Classifier& model, const ag::data::Vocab& vocab, const std::vector<std::string>& texts);

/// A self-contained HTML page: each text with every word shaded by its attention weight (the exact
/// weight in the word's title and data-weight attribute), the probability and the label.
std::string explain_html(const std::vector<TextPrediction>& predictions);

}  // namespace imdb
