#pragma once
// Multi30k (or any line-aligned tokenised corpus) as model input: vocabularies, id encoding and
// length-bucketed batches padded with kPad.

#include <cstdint>
#include <string>
#include <vector>

#include "attograd/core/tensor.h"
#include "attograd/data/parallel_corpus.h"
#include "attograd/data/vocab.h"
#include "attograd/dist/dist.h"
#include "examples/translate/model.h"

namespace translate {

/// A vocabulary of `sentences` (the training split): <unk> <pad> <sos> <eos>, then the words seen at
/// least min_freq times, up to max_size ids in all (0: no limit).
ag::data::Vocab build_vocab(const std::vector<std::vector<std::string>>& sentences, int64_t min_freq = 2,
                            int64_t max_size = 0);

/// Source ids: the words' ids + <eos> (so even an empty sentence has length 1), at most max_len ids.
std::vector<int64_t> encode_source(const std::vector<std::string>& words, const ag::data::Vocab& vocab,
                                   int64_t max_len);
/// Target ids: the words' ids without specials, at most max_len - 1 of them (room for <sos>/<eos>).
std::vector<int64_t> encode_target(const std::vector<std::string>& words, const ag::data::Vocab& vocab,
                                   int64_t max_len);
/// Target ids back to words (stops at nothing: decode.h already drops <eos>).
std::vector<std::string> decode_words(const std::vector<int64_t>& ids, const ag::data::Vocab& vocab);

/// A corpus as ids.
struct Pairs {
  std::vector<std::vector<int64_t>> src, trg;
  int64_t size() const { return static_cast<int64_t>(src.size()); }
};
Pairs encode_corpus(const ag::data::ParallelCorpus& corpus, const ag::data::Vocab& src_vocab,
                    const ag::data::Vocab& trg_vocab, int64_t max_len);

/// One batch: src (B, S), trg_in = <sos> + target (B, T), trg_out = target + <eos> (B, T), all
/// right-padded with kPad; src_lengths (B).
struct Batch {
  ag::IntTensor src, src_lengths, trg_in, trg_out;
  int64_t tokens = 0;  // non-pad source ids + non-pad target ids (trg_out)
  int64_t offset = 0, total = 0;  // rows [offset, offset + size()) of a batch of `total` rows
  int64_t size() const { return src.size(0); }
};
Batch make_batch(const Pairs& pairs, const std::vector<int64_t>& rows);
/// Rows [shard.offset, shard.offset + shard.rows) of make_batch(pairs, rows), padded to the whole
/// batch's lengths: a rank's part of a global batch (ag::dist), with the shapes one process has.
Batch make_batch(const Pairs& pairs, const std::vector<int64_t>& rows, ag::dist::Shard shard);

/// bucket_batches over the pairs (source length, target length + 1) for one epoch.
std::vector<std::vector<int64_t>> epoch_batches(const Pairs& pairs, int64_t max_tokens, uint64_t seed, int64_t epoch);

}  // namespace translate
