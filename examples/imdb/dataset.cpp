#include "examples/imdb/dataset.h"

#include <fmt/format.h>
#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "attograd/core/error.h"
#include "attograd/core/threads.h"
#include "attograd/data/padding.h"
#include "attograd/data/tokenizer.h"

namespace imdb {

std::vector<std::string> TokenizedSplit::words(int64_t i) const {
  std::vector<std::string> out;
  for (const int32_t t : reviews[i]) out.push_back(types[t]);
  return out;
}

ag::data::Vocab build_vocab(const TokenizedSplit& split, int64_t num_words) {
  ag::check(num_words > kUnknownId + 1, "--vocab {} leaves no room for words next to the 3 reserved ids", num_words);
  std::vector<int64_t> count(split.types.size(), 0);
  for (const auto& review : split.reviews)
    for (const int32_t t : review) ++count[t];
  ag::data::WordCounts counts;
  for (size_t t = 0; t < split.types.size(); ++t) counts.emplace(split.types[t], count[t]);
  return ag::data::Vocab::build(counts, {"<pad>", "<start>", "<unk>"}, "<unk>", num_words);
}

std::vector<int64_t> encode(const std::vector<std::string>& words, const ag::data::Vocab& vocab) {
  std::vector<int64_t> ids{kStartId};
  for (const std::string& w : words) ids.push_back(vocab.id(w));
  return ids;
}

Examples encode_all(const TokenizedSplit& split, const ag::data::Vocab& vocab) {
  std::vector<int64_t> id_of(split.types.size());  // each distinct word looked up once
  for (size_t t = 0; t < split.types.size(); ++t) id_of[t] = vocab.id(split.types[t]);
  Examples out;
  out.ids.reserve(split.reviews.size());
  for (const auto& review : split.reviews) {
    std::vector<int64_t> ids{kStartId};
    ids.reserve(review.size() + 1);
    for (const int32_t t : review) ids.push_back(id_of[t]);
    out.ids.push_back(std::move(ids));
  }
  out.labels = split.labels;
  return out;
}

Batch make_batch(const Examples& examples, const std::vector<int64_t>& indices, const ModelConfig& config) {
  std::vector<std::vector<int64_t>> rows;
  Batch batch;
  batch.labels = ag::empty({static_cast<int64_t>(indices.size())});
  for (size_t i = 0; i < indices.size(); ++i) {
    rows.push_back(examples.ids[indices[i]]);
    batch.labels.data()[i] = examples.labels[indices[i]];
  }
  const auto side = config.mask ? ag::data::Side::Post : ag::data::Side::Pre;
  ag::data::Padded padded = ag::data::pad_sequences(rows, config.maxlen, side, ag::data::Side::Pre, kPadId);
  batch.ids = padded.ids;
  batch.lengths = padded.lengths;
  return batch;
}

TokenizedSplit load_split(const std::string& data_dir, const std::string& split, int64_t per_class) {
  const auto root = ag::data::find_imdb(data_dir);
  ag::data::ImdbSplit reviews = ag::data::read_imdb_split(root, split, per_class);
  if (!reviews.warnings.empty())
    fmt::print(stderr, "imdb: {} warnings reading {} ({} files skipped), e.g. {}\n", reviews.warnings.size(), split,
               reviews.skipped, reviews.warnings.front());
  TokenizedSplit out;
  out.root = std::filesystem::absolute(root).string();
  const int64_t n = static_cast<int64_t>(reviews.reviews.size());
  out.reviews.resize(n);
  out.labels.resize(n);
  // Tokenize a chunk of reviews on every thread, then intern its words here, in review order (so the
  // types come out in the same order whatever the thread count); each review's text goes once read.
  std::unordered_map<std::string, int32_t> index;
  constexpr int64_t kChunk = 1024;
  std::vector<std::vector<std::string>> words(kChunk);
  for (int64_t c = 0; c < n; c += kChunk) {
    const int64_t len = std::min(kChunk, n - c);
    ag::parallel_for(len, 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        words[i] = ag::data::tokenize_review(reviews.reviews[c + i].text);
        std::string().swap(reviews.reviews[c + i].text);
      }
    });
    for (int64_t i = 0; i < len; ++i) {
      std::vector<int32_t>& review = out.reviews[c + i];
      review.reserve(words[i].size());
      for (std::string& w : words[i]) {
        const auto [it, fresh] = index.try_emplace(w, static_cast<int32_t>(out.types.size()));
        if (fresh) out.types.push_back(std::move(w));
        review.push_back(it->second);
      }
      out.labels[c + i] = static_cast<float>(reviews.reviews[c + i].label);
    }
  }
  return out;
}

}  // namespace imdb
