#include "examples/imdb/dataset.h"

#include <fmt/format.h>
#include <filesystem>

#include "attograd/core/error.h"
#include "attograd/core/threads.h"
#include "attograd/data/padding.h"
#include "attograd/data/tokenizer.h"

namespace imdb {

ag::data::Vocab build_vocab(const std::vector<std::vector<std::string>>& tokenized, int64_t num_words) {
  ag::check(num_words > kUnknownId + 1, "--vocab {} leaves no room for words next to the 3 reserved ids", num_words);
  ag::data::WordCounts counts;
  for (const auto& words : tokenized) ag::data::count_words(words, counts);
  return ag::data::Vocab::build(counts, {"<pad>", "<start>", "<unk>"}, "<unk>", num_words);
}

std::vector<int64_t> encode(const std::vector<std::string>& words, const ag::data::Vocab& vocab) {
  std::vector<int64_t> ids{kStartId};
  for (const std::string& w : words) ids.push_back(vocab.id(w));
  return ids;
}

Examples encode_all(const std::vector<std::vector<std::string>>& tokenized, const std::vector<float>& labels,
                    const ag::data::Vocab& vocab) {
  Examples out;
  out.ids.reserve(tokenized.size());
  for (const auto& words : tokenized) out.ids.push_back(encode(words, vocab));
  out.labels = labels;
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
  out.words.resize(reviews.reviews.size());
  out.labels.resize(reviews.reviews.size());
  ag::parallel_for(static_cast<int64_t>(reviews.reviews.size()), 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      out.words[i] = ag::data::tokenize_review(reviews.reviews[i].text);
      out.labels[i] = static_cast<float>(reviews.reviews[i].label);
    }
  });
  return out;
}

}  // namespace imdb
