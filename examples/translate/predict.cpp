#include "examples/translate/predict.h"

#include <algorithm>
#include <fmt/format.h>

#include "attograd/core/core.h"
#include "attograd/train/markup.h"
#include "attograd/data/tokenizer.h"
#include "examples/translate/decode.h"

namespace translate {

std::string SentenceTranslation::translation() const {
  std::string out;
  for (const std::string& w : words) {
    if (w == "<eos>") break;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::vector<SentenceTranslation> predict(const LoadedModel& m, const std::vector<std::string>& texts, int64_t beam) {
  Seq2Seq& model = *m.model;
  const int64_t limit = model.config().arch == "transformer" ? model.config().max_len : 100000;
  std::vector<SentenceTranslation> out;
  for (const std::string& text : texts) {
    SentenceTranslation t;
    t.text = text;
    const std::vector<std::string> words = ag::data::tokenize_sentence(text, m.src_lang);
    Pairs p;
    p.src.push_back(encode_source(words, m.src_vocab, limit));
    p.trg.emplace_back();
    for (size_t i = 0; i + 1 < p.src[0].size(); ++i) t.source_words.push_back(words[i]);
    t.source_words.push_back("<eos>");
    const Batch b = make_batch(p, {0});
    const int64_t max_len = std::min<int64_t>(model.max_steps(), 2 * static_cast<int64_t>(p.src[0].size()) + 10);
    Hypothesis h;
    if (beam > 1) {
      BeamOptions options;
      options.beam_size = beam;
      options.max_len = max_len;
      options.attention = true;
      h = beam_translate(model, b.src, b.src_lengths, options)[0][0];
    } else {
      h = greedy_translate(model, b.src, b.src_lengths, max_len, /*attention=*/true)[0];
    }
    t.words = decode_words(h.tokens, m.trg_vocab);
    if (h.finished) t.words.push_back("<eos>");
    t.score = h.score;
    t.attention = h.attention;
    out.push_back(std::move(t));
  }
  return out;
}

std::string attention_svg(const SentenceTranslation& t) {
  const int64_t rows = static_cast<int64_t>(t.words.size()), cols = static_cast<int64_t>(t.source_words.size());
  ag::check(t.attention.dim() == 2 && t.attention.size(0) == rows && t.attention.size(1) == cols,
            "attention_svg: attention {} does not match {} target x {} source words", t.attention.shape(), rows, cols);
  size_t longest_src = 1, longest_trg = 1;
  for (const auto& w : t.source_words) longest_src = std::max(longest_src, w.size());
  for (const auto& w : t.words) longest_trg = std::max(longest_trg, w.size());
  const int cell = 28;
  const int left = 16 + 8 * static_cast<int>(longest_trg), top = 16 + 7 * static_cast<int>(longest_src);
  const int width = left + cell * static_cast<int>(cols) + 16, height = top + cell * static_cast<int>(rows) + 16;
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"13\">\n<title>{}</title>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, width, height, ag::train::escape_markup(t.text));
  for (int64_t j = 0; j < cols; ++j) {
    const int x = left + cell * static_cast<int>(j) + cell / 2 + 4, y = top - 6;
    svg += fmt::format("<text class=\"source\" x=\"{}\" y=\"{}\" transform=\"rotate(-60 {} {})\">{}</text>\n", x, y, x,
                       y, ag::train::escape_markup(t.source_words[j]));
  }
  const float* a = t.attention.data();
  for (int64_t i = 0; i < rows; ++i) {
    const int y = top + cell * static_cast<int>(i);
    svg += fmt::format("<text class=\"target\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left - 6,
                       y + cell / 2 + 5, ag::train::escape_markup(t.words[i]));
    for (int64_t j = 0; j < cols; ++j) {
      const float w = std::clamp(a[i * cols + j], 0.0f, 1.0f);
      const int shade = static_cast<int>(255 * (1 - w) + 0.5f);
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},255)\" stroke=\"#ddd\">"
          "<title>{} -&gt; {}: {:.4f}</title></rect>\n",
          left + cell * static_cast<int>(j), y, cell, cell, shade, shade, ag::train::escape_markup(t.words[i]),
          ag::train::escape_markup(t.source_words[j]), a[i * cols + j]);
    }
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace translate
