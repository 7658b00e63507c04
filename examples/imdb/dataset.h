#pragma once
// IMDB reviews as model input: Keras's id scheme (0 padding, 1 start, 2 unknown, words from 3 by
// frequency), encoding, and batches.

#include <string>
#include <vector>

#include "attograd/core/tensor.h"
#include "attograd/data/imdb.h"
#include "attograd/data/vocab.h"
#include "examples/imdb/model.h"

namespace imdb {

inline constexpr int64_t kPadId = 0, kStartId = 1, kUnknownId = 2;

/// Reviews with their words and labels (the text is dropped once tokenized).
struct Examples {
  std::vector<std::vector<int64_t>> ids;  // [start, word ids...]
  std::vector<float> labels;              // 1 positive, 0 negative
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

/// The vocabulary: the most frequent words of `tokenized` (the training split), num_words ids in all.
ag::data::Vocab build_vocab(const std::vector<std::vector<std::string>>& tokenized, int64_t num_words);
/// [start] + the ids of the review's words (unknown words -> 2).
std::vector<int64_t> encode(const std::vector<std::string>& words, const ag::data::Vocab& vocab);
Examples encode_all(const std::vector<std::vector<std::string>>& tokenized, const std::vector<float>& labels,
                    const ag::data::Vocab& vocab);

/// One batch: ids (B, maxlen) padded and truncated as Keras does ('pre', or 'post' with the mask),
/// the real lengths (B), the labels (B).
struct Batch {
  ag::IntTensor ids;
  ag::IntTensor lengths;
  ag::Tensor labels;
  int64_t size() const { return ids.size(0); }
};
Batch make_batch(const Examples& examples, const std::vector<int64_t>& indices, const ModelConfig& config);

/// Reads a split (find_imdb: --data alone, else $ATTOGRAD_DATA, the user data folder, ../shared/data) and tokenizes it; prints the
/// loader's warnings count. per_class > 0 keeps that many reviews of each label.
struct TokenizedSplit {
  std::string root;  // the aclImdb folder read (absolute)
  std::vector<std::vector<std::string>> words;
  std::vector<float> labels;
};
TokenizedSplit load_split(const std::string& data_dir, const std::string& split, int64_t per_class = 0);

}  // namespace imdb
