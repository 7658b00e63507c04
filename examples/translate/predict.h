#pragma once
// `translate predict`: raw sentences to translations, and the attention heatmap as SVG.

#include <cstdint>
#include <string>
#include <vector>

#include "attograd/core/tensor.h"
#include "examples/translate/evaluate.h"

namespace translate {

/// One sentence's translation with its cross-attention.
struct SentenceTranslation {
  std::string text;
  std::vector<std::string> source_words;  // the tokenised source + "<eos>" (what the model saw)
  std::vector<std::string> words;         // the translation, + "<eos>" when the model ended it
  double score = 0;                       // sum of log-probabilities
  ag::Tensor attention;                   // (words.size(), source_words.size())
  /// The translation as text: the words (without <eos>) joined by spaces.
  std::string translation() const;
};

/// Tokenises each text with tokenize_sentence(text, m.src_lang) and translates it: greedy when
/// beam <= 1, else beam search (alpha 0.6); eval mode, no recording.
std::vector<SentenceTranslation> predict(const LoadedModel& m, const std::vector<std::string>& texts, int64_t beam = 1);

/// A self-contained SVG heatmap of t.attention: source words along the top, target words down the
/// left, each cell shaded by its weight (the exact weight in its <title>).
std::string attention_svg(const SentenceTranslation& t);

}  // namespace translate
