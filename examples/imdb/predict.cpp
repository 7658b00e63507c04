#include "examples/imdb/predict.h"

#include <algorithm>

#include "attograd/core/core.h"
#include "attograd/train/markup.h"
#include "attograd/data/tokenizer.h"
#include "examples/imdb/dataset.h"

namespace imdb {

std::vector<TextPrediction> predict(Classifier& model, const ag::data::Vocab& vocab, const std::vector<std::string>& texts) {
  model.eval();
  ag::NoGradGuard no_grad;
  const ModelConfig& config = model.config();
  std::vector<TextPrediction> out;
  for (const std::string& text : texts) {
    TextPrediction p;
    p.text = text;
    p.words = ag::data::tokenize_review(text);
    Examples one;
    one.ids.push_back(encode(p.words, vocab));
    one.labels.push_back(0);
    const Batch batch = make_batch(one, {0}, config);
    const Prediction y = model.forward(batch.ids, batch.lengths);
    p.probability = 1.0 / (1.0 + std::exp(-static_cast<double>(y.logits.item())));
    // Where id k of the encoded text sits: the window keeps the last maxlen ids (truncating 'pre'),
    // placed at the end of the row (padding 'pre') or at its start (padding 'post', with the mask).
    const int64_t total = static_cast<int64_t>(one.ids[0].size()), kept = std::min(total, config.maxlen);
    const int64_t first_kept = total - kept;                         // ids before this were cut
    const int64_t row_start = config.mask ? 0 : config.maxlen - kept;  // position of id first_kept
    auto weight_of_id = [&](int64_t k) {
      return k < first_kept ? 0.0 : static_cast<double>(y.attention.data()[row_start + (k - first_kept)]);
    };
    p.start_weight = weight_of_id(0);
    for (int64_t w = 0; w < static_cast<int64_t>(p.words.size()); ++w) p.word_weights.push_back(weight_of_id(w + 1));
    p.words_seen = static_cast<int64_t>(p.words.size()) - std::max<int64_t>(0, first_kept - 1);
    out.push_back(std::move(p));
  }
  return out;
}

std::string explain_html(const std::vector<TextPrediction>& predictions) {
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attograd IMDB attention</title>\n<style>\n"
      "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.8}\n"
      ".review{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1em 0}\n"
      ".w{padding:0 2px;border-radius:3px}\n.label{font-weight:bold}\n.pos{color:#1a7f37}\n.neg{color:#cf222e}\n"
      "</style></head><body>\n<h1>What the model looked at</h1>\n"
      "<p>Each word is shaded by the attention weight the model gave its position (darker = more); hover "
      "for the exact weight. Words past the model's window of the last <i>maxlen</i> ids get 0.</p>\n";
  for (const TextPrediction& p : predictions) {
    const bool positive = p.probability >= 0.5;
    double top = 1e-12;
    for (double w : p.word_weights) top = std::max(top, w);
    html += fmt::format("<div class=\"review\"><p class=\"label {}\">{} (P(positive) = {:.3f})</p>\n<p>",
                        positive ? "pos" : "neg", positive ? "positive" : "negative", p.probability);
    for (size_t i = 0; i < p.words.size(); ++i) {
      const double w = p.word_weights[i];
      html += fmt::format("<span class=\"w\" data-weight=\"{:.9g}\" title=\"{:.4f}\" style=\"background:rgba(255,140,0,{:.3f})\">{}</span> ",
                          w, w, w / top, ag::train::escape_markup(p.words[i]));
    }
    html += "</p></div>\n";
  }
  return html + "</body></html>\n";
}

}  // namespace imdb
