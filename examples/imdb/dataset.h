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

/// A split's reviews, tokenized, each word stored once: a review is a list of indices into `types`
/// (25,000 reviews hold 6.7 million words but fewer than 100,000 distinct ones, so this takes a
/// tenth of the memory of a string per word).
struct TokenizedSplit {
  std::string root;                           // the aclImdb folder read (absolute)
  std::vector<std::string> types;             // every distinct word, in order of first appearance
  std::vector<std::vector<int32_t>> reviews;  // each review's words, as indices into types
  std::vector<float> labels;                  // 1 positive, 0 negative
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  /// Review i's words, as strings.
  std::vector<std::string> words(int64_t i) const;
};

/// The vocabulary: the most frequent words of `split` (the training split), num_words ids in all.
ag::data::Vocab build_vocab(const TokenizedSplit& split, int64_t num_words);
/// [start] + the ids of the review's words (unknown words -> 2).
std::vector<int64_t> encode(const std::vector<std::string>& words, const ag::data::Vocab& vocab);
/// Every review of `split` encoded as encode() does.
Examples encode_all(const TokenizedSplit& split, const ag::data::Vocab& vocab);

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
TokenizedSplit load_split(const std::string& data_dir, const std::string& split, int64_t per_class = 0);

}  // namespace imdb
