// Paired bootstrap resampling of BLEU differences (Koehn 2004) on counts whose resamples are known.
#include <gtest/gtest.h>

#include "attograd/core/error.h"
#include "attograd/data/parallel_corpus.h"
#include "attograd/train/bleu_bootstrap.h"

namespace {

using ag::train::BleuCounts;
using ag::train::paired_bootstrap;

// A 10-token sentence translated perfectly, and one with some n-grams wrong.
BleuCounts perfect() { return {10, 10, {10, 9, 8, 7}, {10, 9, 8, 7}}; }
BleuCounts flawed() { return {10, 10, {8, 6, 4, 2}, {10, 9, 8, 7}}; }

TEST(BleuBootstrap, IdenticalSystemsNeverDiffer) {
  const std::vector<BleuCounts> a = {perfect(), flawed(), flawed()};
  const auto r = paired_bootstrap(a, a, 200, 3);
  EXPECT_EQ(r.a.score, r.b.score);
  EXPECT_EQ(r.low, 0.0);
  EXPECT_EQ(r.high, 0.0);
  EXPECT_EQ(r.b_above, 0.0);
  EXPECT_EQ(r.b_below, 0.0);
}

TEST(BleuBootstrap, ResamplesAreUniformDrawsOfTheSameSentencesForBothSystems) {
  // B is perfect on sentence 0 and flawed on 1; A the other way round. A draw of two sentences is
  // {0,0} (B ahead), {1,1} (A ahead, by as much) or one of each (the summed counts are equal: a tie),
  // with probabilities 1/4, 1/4, 1/2, as long as both systems are scored on the same draw.
  const std::vector<BleuCounts> a = {flawed(), perfect()}, b = {perfect(), flawed()};
  const auto r = paired_bootstrap(a, b, 4000, 1);
  EXPECT_EQ(r.a.score, r.b.score);  // the whole set is a tie
  BleuCounts flawed_twice = flawed();
  flawed_twice += flawed();
  const double gap = 100.0 - ag::train::bleu_from_counts(flawed_twice).score;
  EXPECT_NEAR(r.high, gap, 1e-9);  // the 97.5th percentile falls among the {0,0} draws
  EXPECT_NEAR(r.low, -gap, 1e-9);
  EXPECT_NEAR(r.b_above, 0.25, 0.04);  // 4000 draws: the standard deviation is 0.007
  EXPECT_NEAR(r.b_below, 0.25, 0.04);
  const auto again = paired_bootstrap(a, b, 4000, 1);
  EXPECT_EQ(again.b_above, r.b_above);  // deterministic for a seed
  EXPECT_EQ(again.b_below, r.b_below);
}

TEST(BleuBootstrap, ASystemBetterOnEverySentenceWinsEveryResample) {
  using ag::data::split_tokens;
  const std::vector<std::string> refs = {"a man rides a brown horse on the beach .", "two dogs play in the white snow ."},
                                 good = refs,
                                 bad = {"a man rides a horse on a beach .", "two dogs are playing in snow ."};
  std::vector<BleuCounts> a, b;
  for (size_t i = 0; i < refs.size(); ++i) {
    a.push_back(ag::train::sentence_counts(split_tokens(bad[i]), split_tokens(refs[i])));
    b.push_back(ag::train::sentence_counts(split_tokens(good[i]), split_tokens(refs[i])));
  }
  const auto r = paired_bootstrap(a, b, 500, 7);
  EXPECT_DOUBLE_EQ(r.b.score, 100.0);
  EXPECT_LT(r.a.score, 100.0);
  EXPECT_GT(r.low, 0.0);
  EXPECT_EQ(r.b_above, 1.0);
  EXPECT_NE(r.to_string().find("B above A in 100.0% of 500 samples"), std::string::npos) << r.to_string();
}

TEST(BleuBootstrap, MismatchedOrEmptyInputsAreErrors) {
  EXPECT_THROW(paired_bootstrap({perfect()}, {perfect(), flawed()}), ag::Error);
  EXPECT_THROW(paired_bootstrap({}, {}), ag::Error);
  EXPECT_THROW(paired_bootstrap({perfect()}, {perfect()}, 0), ag::Error);
}

}  // namespace
