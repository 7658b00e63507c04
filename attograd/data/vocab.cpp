#include "attograd/data/vocab.h"

#include <algorithm>

#include "attograd/core/error.h"

namespace ag::data {

void count_words(const std::vector<std::string>& words, WordCounts& counts) {
  for (const std::string& w : words) ++counts[w];
}

Vocab Vocab::build(const WordCounts& counts, std::vector<std::string> specials, const std::string& unk,
                   int64_t max_size, int64_t min_freq) {
  std::vector<std::pair<std::string, int64_t>> words;
  for (const auto& [w, n] : counts)
    if (n >= min_freq && std::find(specials.begin(), specials.end(), w) == specials.end()) words.emplace_back(w, n);
  std::sort(words.begin(), words.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> tokens = std::move(specials);
  const size_t limit = max_size > 0 ? static_cast<size_t>(max_size) : SIZE_MAX;
  for (const auto& [w, _] : words) {
    if (tokens.size() >= limit) break;
    tokens.push_back(w);
  }
  return from_tokens(std::move(tokens), unk);
}

Vocab Vocab::from_tokens(std::vector<std::string> tokens, const std::string& unk) {
  Vocab v;
  v.tokens_ = std::move(tokens);
  for (size_t i = 0; i < v.tokens_.size(); ++i) {
    const bool fresh = v.index_.emplace(v.tokens_[i], static_cast<int64_t>(i)).second;
    check(fresh, "Vocab: token '{}' appears twice (ids {} and {})", v.tokens_[i], v.index_[v.tokens_[i]], i);
  }
  auto it = v.index_.find(unk);
  check(it != v.index_.end(), "Vocab: the unknown-word token '{}' is not in the vocabulary", unk);
  v.unk_id_ = it->second;
  return v;
}

int64_t Vocab::id(const std::string& word) const {
  auto it = index_.find(word);
  return it == index_.end() ? unk_id_ : it->second;
}

const std::string& Vocab::token(int64_t id) const {
  check(id >= 0 && id < size(), "Vocab: id {} is out of range for a vocabulary of {}", id, size());
  return tokens_[id];
}

std::vector<int64_t> Vocab::encode(const std::vector<std::string>& words) const {
  std::vector<int64_t> ids;
  ids.reserve(words.size());
  for (const std::string& w : words) ids.push_back(id(w));
  return ids;
}

}  // namespace ag::data
