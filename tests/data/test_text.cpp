// The IMDB tokenizer, UTF-8 validation, vocabularies and Keras-style padding.
#include <gtest/gtest.h>

#include <algorithm>

#include "attograd/data/padding.h"
#include "attograd/data/tokenizer.h"
#include "attograd/data/vocab.h"
#include "tests/test_util.h"

namespace {

using ag::data::tokenize_review;
using ag::testing::error_of;
using Words = std::vector<std::string>;

TEST(Tokenizer, LowercasesDropsBreakTagsAndSplitsOnPunctuation) {
  EXPECT_EQ(tokenize_review("This movie was GREAT!<br /><br />I'd see it again... 10/10"),
            (Words{"this", "movie", "was", "great", "i'd", "see", "it", "again", "10", "10"}));
  EXPECT_EQ(tokenize_review("\"Quoted\" -- 'single' 80s isn't"), (Words{"quoted", "'single'", "80s", "isn't"}));
  EXPECT_EQ(tokenize_review("a<br />b"), (Words{"a", "b"}));
  EXPECT_EQ(tokenize_review("x < y"), (Words{"x", "y"}));
}

TEST(Tokenizer, EdgeCases) {
  EXPECT_TRUE(tokenize_review("").empty());
  EXPECT_TRUE(tokenize_review("   ...!!! <br /> ' '' ").empty());
  EXPECT_EQ(tokenize_review("Café ÉCLAIR naïve"), (Words{"café", "éclair", "naïve"}));
}

// Found by the tokenizer fuzz target: a C3 byte without its continuation (invalid UTF-8) took the
// next byte into the word, whatever it was: a space, or the '<' of a "<br />".
TEST(Tokenizer, AnInvalidLeadByteDoesNotSwallowTheNextCharacter) {
  EXPECT_EQ(tokenize_review("caf\xC3 au<br />lait\xC3<br />x"), (Words{"caf\xC3", "au", "lait\xC3", "x"}));
  EXPECT_EQ(ag::data::tokenize_sentence("caf\xC3 au"), (Words{"caf\xC3", "au"}));
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(ag::data::valid_utf8("plain ascii"));
  EXPECT_TRUE(ag::data::valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAC"));
  EXPECT_FALSE(ag::data::valid_utf8("caf\xE9"));          // Latin-1, not UTF-8
  EXPECT_FALSE(ag::data::valid_utf8("\xC3"));             // truncated
  EXPECT_FALSE(ag::data::valid_utf8("\xC0\xAF"));         // overlong
  EXPECT_FALSE(ag::data::valid_utf8("\xED\xA0\x80"));     // a UTF-16 surrogate
  EXPECT_FALSE(ag::data::valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
}

TEST(Vocab, KerasIdsMostFrequentFirstTiesByByteOrder) {
  ag::data::WordCounts counts;
  ag::data::count_words({"the", "movie", "the", "a", "film", "the", "movie", "zebra", "a"}, counts);
  // the:3, a:2, movie:2, film:1, zebra:1
  auto vocab = ag::data::Vocab::build(counts, {"<pad>", "<start>", "<oov>"}, "<oov>", /*max_size=*/6);
  EXPECT_EQ(vocab.tokens(), (Words{"<pad>", "<start>", "<oov>", "the", "a", "movie"}));
  EXPECT_EQ(vocab.id("the"), 3);
  EXPECT_EQ(vocab.id("film"), 2);  // dropped by max_size: out of vocabulary
  EXPECT_EQ(vocab.id("never-seen"), 2);
  EXPECT_EQ(vocab.encode({"a", "zebra", "movie"}), (std::vector<int64_t>{4, 2, 5}));
  EXPECT_EQ(vocab.token(5), "movie");
  EXPECT_NE(error_of([&] { vocab.token(6); }).find("6"), std::string::npos);
  // Same counts, same vocabulary, whatever the insertion order of the hash map.
  ag::data::WordCounts reordered(counts.begin(), counts.end());
  EXPECT_EQ(ag::data::Vocab::build(reordered, {"<pad>", "<start>", "<oov>"}, "<oov>", 6).tokens(), vocab.tokens());
}

TEST(Vocab, MinFreqUnlimitedSizeAndRoundTrip) {
  ag::data::WordCounts counts{{"a", 3}, {"b", 1}, {"c", 2}};
  auto vocab = ag::data::Vocab::build(counts, {"<unk>", "<pad>", "<sos>", "<eos>"}, "<unk>", 0, /*min_freq=*/2);
  EXPECT_EQ(vocab.tokens(), (Words{"<unk>", "<pad>", "<sos>", "<eos>", "a", "c"}));
  EXPECT_EQ(vocab.unk_id(), 0);
  auto copy = ag::data::Vocab::from_tokens(vocab.tokens(), "<unk>");
  EXPECT_EQ(copy.id("c"), 5);
  EXPECT_NE(error_of([] { ag::data::Vocab::from_tokens({"a", "a"}, "a"); }).find("twice"), std::string::npos);
  EXPECT_NE(error_of([] { ag::data::Vocab::from_tokens({"a"}, "<unk>"); }).find("<unk>"), std::string::npos);
}

TEST(Padding, KerasPrePaddingAndTruncationByDefault) {
  auto p = ag::data::pad_sequences({{1, 2, 3}, {4, 5, 6, 7, 8, 9}, {}}, 4);
  EXPECT_EQ(p.ids.to_vector(), (std::vector<int64_t>{0, 1, 2, 3, /*loses the front*/ 6, 7, 8, 9, 0, 0, 0, 0}));
  EXPECT_EQ(p.lengths.to_vector(), (std::vector<int64_t>{3, 4, 0}));
}

TEST(Padding, PostPaddingAndTruncation) {
  auto p = ag::data::pad_sequences({{1, 2, 3}, {4, 5, 6, 7, 8, 9}}, 4, ag::data::Side::Post, ag::data::Side::Post);
  EXPECT_EQ(p.ids.to_vector(), (std::vector<int64_t>{1, 2, 3, 0, 4, 5, 6, 7}));
  auto q = ag::data::pad_sequences({{1, 2, 3, 4, 5}}, 3, ag::data::Side::Post, ag::data::Side::Pre, -1);
  EXPECT_EQ(q.ids.to_vector(), (std::vector<int64_t>{3, 4, 5}));
  auto r = ag::data::pad_sequences({{7}}, 3, ag::data::Side::Post, ag::data::Side::Pre, -1);
  EXPECT_EQ(r.ids.to_vector(), (std::vector<int64_t>{7, -1, -1}));
  EXPECT_EQ(p.ids.shape(), ag::Shape({2, 4}));
  EXPECT_NE(error_of([] { ag::data::pad_sequences({{1}}, 0); }).find("maxlen"), std::string::npos);
}

}  // namespace

#include "attograd/data/shuffle.h"

namespace {

TEST(Shuffle, EpochOrderIsAPermutationFixedBySeedAndEpoch) {
  const auto a = ag::data::epoch_order(1000, 7, 0), b = ag::data::epoch_order(1000, 7, 0);
  const auto c = ag::data::epoch_order(1000, 7, 1), d = ag::data::epoch_order(1000, 8, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(Shuffle, ValidationSplitIsDisjointCompleteAndSeeded) {
  const auto [train, val] = ag::data::split_validation(1000, 0.1, 3);
  EXPECT_EQ(val.size(), 100u);
  EXPECT_EQ(train.size(), 900u);
  std::vector<int64_t> all = train;
  all.insert(all.end(), val.begin(), val.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(all[i], i);
  EXPECT_EQ(ag::data::split_validation(1000, 0.1, 3).second, val);
  EXPECT_NE(ag::data::split_validation(1000, 0.1, 4).second, val);
  EXPECT_THROW(ag::data::split_validation(10, 1.0, 0), ag::Error);
}

}  // namespace
