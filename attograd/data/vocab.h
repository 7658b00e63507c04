#pragma once
// Vocab: the mapping between words and integer ids, built from word counts of the training split.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "attograd/core/tensor.h"

namespace ag::data {

/// Word -> how often it occurs.
using WordCounts = std::unordered_map<std::string, int64_t>;

/// Adds the words of one text to `counts`.
void count_words(const std::vector<std::string>& words, WordCounts& counts);

/// Ids 0..specials-1 are the special tokens (padding, start, unknown...), in the order given; the
/// words follow by decreasing count, ties broken by byte order, so the same counts always give the
/// same vocabulary. Unknown words map to the `unk` special.
class Vocab {
 public:
  Vocab() = default;
  /// Keeps the most frequent words with count >= min_freq, up to max_size ids in all (specials
  /// included; max_size <= 0 means no limit). `unk` must be one of `specials`.
  static Vocab build(const WordCounts& counts, std::vector<std::string> specials, const std::string& unk,
                     int64_t max_size = 0, int64_t min_freq = 1);
  /// A vocabulary from its id-ordered token list (as saved in a checkpoint).
  static Vocab from_tokens(std::vector<std::string> tokens, const std::string& unk);

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  /// The id of a word, or unk_id() if the vocabulary does not have it.
  int64_t id(const std::string& word) const;
  bool contains(const std::string& word) const { return index_.count(word) > 0; }
  /// The word with this id; raises for an id out of range.
  const std::string& token(int64_t id) const;
  int64_t unk_id() const { return unk_id_; }
  /// Ids of several words.
  std::vector<int64_t> encode(const std::vector<std::string>& words) const;
  /// Every token in id order (what a checkpoint stores under /vocab/<name>).
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> index_;
  int64_t unk_id_ = 0;
};

}  // namespace ag::data
