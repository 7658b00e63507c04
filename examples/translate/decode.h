#pragma once
// Decoding a trained Seq2Seq: greedy and beam search, batched over sentences (every live hypothesis
// of every sentence is one row of a single Seq2Seq::step call). Both run in eval mode under
// NoGradGuard and put the model's training mode back afterwards.
//
// Conventions shared by both:
//  - a hypothesis ends at its first <eos>; the <eos> is scored but not returned in `tokens`;
//  - <pad> and <sos> are never proposed (their log-probabilities count as -inf);
//  - max_len counts decoding steps, the <eos> included: a hypothesis with no <eos> after max_len
//    tokens is returned unfinished (finished = false);
//  - score = sum of the log-probabilities of the emitted tokens (the <eos> included); hypotheses are
//    ranked by normalized = score / length_penalty(steps, alpha), GNMT's ((5 + steps) / 6)^alpha,
//    steps = tokens.size() + (finished ? 1 : 0). alpha = 0 ranks by the plain sum.

#include <cstdint>
#include <vector>

#include "examples/translate/model.h"

namespace translate {

/// One decoded sentence.
struct Hypothesis {
  std::vector<int64_t> tokens;  // target ids, without <sos> and <eos>
  double score = 0;             // sum of log-probabilities (the <eos> included when finished)
  double normalized = 0;        // score / length_penalty(steps, alpha): what hypotheses are ranked by
  bool finished = false;        // ended with <eos> (false: cut off at max_len)
  ag::Tensor attention;         // (steps, src_length): cross-attention per step, when asked for; else undefined
  int64_t steps() const { return static_cast<int64_t>(tokens.size()) + (finished ? 1 : 0); }
};

/// GNMT's length penalty ((5 + length) / 6)^alpha (Wu et al. 2016, eq. 14); 1 for alpha = 0.
double length_penalty(int64_t length, float alpha);

struct BeamOptions {
  int64_t beam_size = 5;
  float length_penalty_alpha = 0.6f;  // >= 0
  int64_t max_len = 100;              // decoding steps, <eos> included
  bool attention = false;             // fill Hypothesis::attention
};

/// Greedy decoding of src (B, S), src_lengths (B): the most likely allowed token at each step
/// -> one hypothesis per sentence (alpha 0: normalized == score).
std::vector<Hypothesis> greedy_translate(Seq2Seq& model, const ag::IntTensor& src, const ag::IntTensor& src_lengths,
                                         int64_t max_len, bool attention = false);

/// Beam search of src (B, S), src_lengths (B) -> per sentence up to beam_size hypotheses, best first.
/// Each step extends every live hypothesis by every allowed token and walks the candidates best first:
/// an <eos> candidate ranked within the first beam_size is kept as finished (and never extended), the
/// first beam_size other candidates stay live. A sentence stops when it has beam_size finished
/// hypotheses whose normalized scores are all at least the best any live one could still reach
/// (score / length_penalty(max_len): log-probabilities only lower a score), or at max_len, where its
/// live hypotheses join the finished ones unfinished.
std::vector<std::vector<Hypothesis>> beam_translate(Seq2Seq& model, const ag::IntTensor& src,
                                                    const ag::IntTensor& src_lengths, const BeamOptions& options);

/// greedy_translate's tokens, one list per sentence.
std::vector<std::vector<int64_t>> greedy_decode(Seq2Seq& model, const ag::IntTensor& src,
                                                const ag::IntTensor& src_lengths, int64_t max_len);

/// The best hypothesis' tokens of beam_translate, one list per sentence.
std::vector<std::vector<int64_t>> beam_search(Seq2Seq& model, const ag::IntTensor& src,
                                              const ag::IntTensor& src_lengths, int64_t beam_size,
                                              float length_penalty_alpha, int64_t max_len);

}  // namespace translate
