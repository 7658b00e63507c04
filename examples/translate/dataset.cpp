#include "examples/translate/dataset.h"

#include <algorithm>

#include "attograd/core/error.h"
#include "attograd/data/bucketing.h"

namespace translate {

ag::data::Vocab build_vocab(const std::vector<std::vector<std::string>>& sentences, int64_t min_freq,
                            int64_t max_size) {
  ag::data::WordCounts counts;
  for (const auto& words : sentences) ag::data::count_words(words, counts);
  return ag::data::Vocab::build(counts, {"<unk>", "<pad>", "<sos>", "<eos>"}, "<unk>", max_size, min_freq);
}

std::vector<int64_t> encode_source(const std::vector<std::string>& words, const ag::data::Vocab& vocab,
                                   int64_t max_len) {
  std::vector<int64_t> ids;
  for (const std::string& w : words) {
    if (static_cast<int64_t>(ids.size()) + 1 >= max_len) break;
    ids.push_back(vocab.id(w));
  }
  ids.push_back(kEos);
  return ids;
}

std::vector<int64_t> encode_target(const std::vector<std::string>& words, const ag::data::Vocab& vocab,
                                   int64_t max_len) {
  std::vector<int64_t> ids;
  for (const std::string& w : words) {
    if (static_cast<int64_t>(ids.size()) + 1 >= max_len) break;
    ids.push_back(vocab.id(w));
  }
  return ids;
}

std::vector<std::string> decode_words(const std::vector<int64_t>& ids, const ag::data::Vocab& vocab) {
  std::vector<std::string> words;
  words.reserve(ids.size());
  for (int64_t id : ids) words.push_back(vocab.token(id));
  return words;
}

Pairs encode_corpus(const ag::data::ParallelCorpus& corpus, const ag::data::Vocab& src_vocab,
                    const ag::data::Vocab& trg_vocab, int64_t max_len) {
  Pairs out;
  out.src.reserve(corpus.size());
  out.trg.reserve(corpus.size());
  for (int64_t i = 0; i < corpus.size(); ++i) {
    out.src.push_back(encode_source(corpus.source[i], src_vocab, max_len));
    out.trg.push_back(encode_target(corpus.target[i], trg_vocab, max_len));
  }
  return out;
}

Batch make_batch(const Pairs& pairs, const std::vector<int64_t>& rows) {
  return make_batch(pairs, rows, {0, static_cast<int64_t>(rows.size())});
}

Batch make_batch(const Pairs& pairs, const std::vector<int64_t>& all_rows, ag::dist::Shard shard) {
  ag::check(!all_rows.empty(), "an empty batch");
  ag::check(shard.offset >= 0 && shard.rows > 0 && shard.offset + shard.rows <= static_cast<int64_t>(all_rows.size()),
            "rows [{}, {}) of a batch of {}", shard.offset, shard.offset + shard.rows, all_rows.size());
  int64_t S = 1, T = 1;  // the whole batch's lengths
  for (int64_t r : all_rows) {
    S = std::max<int64_t>(S, static_cast<int64_t>(pairs.src[r].size()));
    T = std::max<int64_t>(T, static_cast<int64_t>(pairs.trg[r].size()) + 1);
  }
  const std::vector<int64_t> rows(all_rows.begin() + shard.offset, all_rows.begin() + shard.offset + shard.rows);
  const int64_t B = shard.rows;
  Batch b;
  b.offset = shard.offset;
  b.total = static_cast<int64_t>(all_rows.size());
  b.src = ag::IntTensor::full({B, S}, kPad);
  b.src_lengths = ag::IntTensor({B});
  b.trg_in = ag::IntTensor::full({B, T}, kPad);
  b.trg_out = ag::IntTensor::full({B, T}, kPad);
  for (int64_t i = 0; i < B; ++i) {
    const auto& s = pairs.src[rows[i]];
    const auto& t = pairs.trg[rows[i]];
    std::copy(s.begin(), s.end(), b.src.data() + i * S);
    b.src_lengths.data()[i] = static_cast<int64_t>(s.size());
    b.trg_in.data()[i * T] = kSos;
    std::copy(t.begin(), t.end(), b.trg_in.data() + i * T + 1);
    std::copy(t.begin(), t.end(), b.trg_out.data() + i * T);
    b.trg_out.data()[i * T + static_cast<int64_t>(t.size())] = kEos;
    b.tokens += static_cast<int64_t>(s.size() + t.size() + 1);
  }
  return b;
}

std::vector<std::vector<int64_t>> epoch_batches(const Pairs& pairs, int64_t max_tokens, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> src_len(pairs.size()), trg_len(pairs.size());
  for (int64_t i = 0; i < pairs.size(); ++i) {
    src_len[i] = static_cast<int64_t>(pairs.src[i].size());
    trg_len[i] = static_cast<int64_t>(pairs.trg[i].size()) + 1;
  }
  return ag::data::bucket_batches(src_len, trg_len, max_tokens, 0, seed, epoch);
}

}  // namespace translate
