// Corpus BLEU on hand-computed cases (multi-bleu.perl's definition).
#include <gtest/gtest.h>

#include <cmath>

#include "attograd/data/parallel_corpus.h"
#include "attograd/core/error.h"
#include "attograd/train/bleu.h"

namespace {

using ag::data::split_tokens;
using Corpus = std::vector<std::vector<std::string>>;

Corpus corpus(const std::vector<std::string>& lines) {
  Corpus out;
  for (const auto& l : lines) out.push_back(split_tokens(l));
  return out;
}

TEST(Bleu, IdenticalIs100) {
  const Corpus refs = corpus({"a man is riding a horse .", "two dogs play in the snow ."});
  const auto b = ag::train::corpus_bleu(refs, refs);
  EXPECT_DOUBLE_EQ(b.score, 100.0);
  EXPECT_DOUBLE_EQ(b.brevity_penalty, 1.0);
}

TEST(Bleu, HandComputedWithClippingAndBrevityPenalty) {
  // hyp: "the the cat sat" (4 tokens), ref: "the cat sat on the mat" (6 tokens)
  // 1-grams: the x2 (ref has 2) + cat + sat -> 4/4; 2-grams: "the the" no, "the cat", "cat sat" -> 2/3;
  // 3-grams: "the the cat" no, "the cat sat" -> 1/2; 4-grams: "the the cat sat" no -> 0/1 -> BLEU 0.
  auto b = ag::train::corpus_bleu(corpus({"the the cat sat"}), corpus({"the cat sat on the mat"}));
  EXPECT_DOUBLE_EQ(b.precisions[0], 1.0);
  EXPECT_DOUBLE_EQ(b.precisions[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(b.precisions[2], 0.5);
  EXPECT_DOUBLE_EQ(b.precisions[3], 0.0);
  EXPECT_EQ(b.score, 0.0);  // no smoothing
  // hyp: "the cat sat on the" (5 tokens) vs the same ref: p = 5/5, 4/4, 3/3, 2/2; BP = exp(1 - 6/5).
  b = ag::train::corpus_bleu(corpus({"the cat sat on the"}), corpus({"the cat sat on the mat"}));
  EXPECT_NEAR(b.brevity_penalty, std::exp(1.0 - 6.0 / 5.0), 1e-12);
  EXPECT_NEAR(b.score, 100.0 * std::exp(1.0 - 6.0 / 5.0), 1e-9);
  // Clipping: "the the the the" vs "the cat": 1-gram matches clipped to 1 -> p1 = 1/4.
  b = ag::train::corpus_bleu(corpus({"the the the the"}), corpus({"the cat"}));
  EXPECT_DOUBLE_EQ(b.precisions[0], 0.25);
}

TEST(Bleu, CorpusLevelSumsCountsOverSentencesBeforeDividing) {
  // Sentence 1: hyp = ref (4 tokens): 4/4, 3/3, 2/2, 1/1. Sentence 2: "a b c d e" vs "a b x d e":
  // 1-grams 4/5, 2-grams "a b", "d e" -> 2/4, 3-grams 0/3, 4-grams 0/2.
  // Corpus: p1 = 8/9, p2 = 5/7, p3 = 2/5, p4 = 1/3; lengths equal -> BP 1.
  const auto b = ag::train::corpus_bleu(corpus({"w x y z", "a b c d e"}), corpus({"w x y z", "a b x d e"}));
  const double expected = 100.0 * std::exp((std::log(8.0 / 9) + std::log(5.0 / 7) + std::log(2.0 / 5) + std::log(1.0 / 3)) / 4);
  EXPECT_NEAR(b.score, expected, 1e-9);
  EXPECT_EQ(b.hypothesis_length, 9);
  EXPECT_NE(b.to_string().find("BLEU = "), std::string::npos);
}

TEST(Bleu, CorpusBleuIsTheBleuOfSummedSentenceCounts) {
  // "the the cat sat" vs "the cat sat on the mat": clipped matches 4, 2, 1, 0 of 4, 3, 2, 1 n-grams.
  const auto one = ag::train::sentence_counts(split_tokens("the the cat sat"), split_tokens("the cat sat on the mat"));
  EXPECT_EQ(one.hypothesis_length, 4);
  EXPECT_EQ(one.reference_length, 6);
  EXPECT_EQ(one.matches, (std::array<int64_t, 4>{4, 2, 1, 0}));
  EXPECT_EQ(one.totals, (std::array<int64_t, 4>{4, 3, 2, 1}));
  const auto two = ag::train::sentence_counts(split_tokens("a"), split_tokens("a b"));
  EXPECT_EQ(two.totals, (std::array<int64_t, 4>{1, 0, 0, 0}));  // no n-grams longer than the sentence
  ag::train::BleuCounts sum = one;
  sum += two;
  const Corpus hyps = corpus({"the the cat sat", "a"}), refs = corpus({"the cat sat on the mat", "a b"});
  const auto whole = ag::train::corpus_bleu(hyps, refs), from_counts = ag::train::bleu_from_counts(sum);
  EXPECT_EQ(from_counts.score, whole.score);
  EXPECT_EQ(from_counts.precisions, whole.precisions);
  EXPECT_EQ(from_counts.hypothesis_length, 5);
  EXPECT_EQ(from_counts.reference_length, 8);
}

TEST(Bleu, LongerHypothesesGetNoBonusAndMismatchedCountsAreAnError) {
  const auto b = ag::train::corpus_bleu(corpus({"a b c d e f"}), corpus({"a b c d e"}));
  EXPECT_DOUBLE_EQ(b.brevity_penalty, 1.0);
  EXPECT_THROW(ag::train::corpus_bleu(corpus({"a"}), corpus({"a", "b"})), ag::Error);
}

}  // namespace
