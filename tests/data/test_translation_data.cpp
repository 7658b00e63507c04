// Parallel corpora, the sentence tokenizer and length bucketing; Multi30k itself when present.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "attograd/data/bucketing.h"
#include "attograd/data/parallel_corpus.h"
#include "attograd/data/tokenizer.h"
#include "tests/data/archive_util.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ag::testing::error_of;
using Tokens = std::vector<std::string>;

fs::path temp_file(const std::string& name, const std::string& content, bool gzip = false) {
  const fs::path p = fs::temp_directory_path() / ("attograd-" + std::to_string(::getpid()) + "-" + name);
  if (gzip) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
    gzclose(f);
  } else {
    std::ofstream(p) << content;
  }
  return p;
}

TEST(ParallelCorpus, ReadsPlainAndGzipLineAligned) {
  const fs::path src = temp_file("src.de.gz", "ein hund .\nzwei katzen spielen .\n", true);
  const fs::path trg = temp_file("trg.en", "a dog .\r\ntwo cats play .\n");
  const ag::data::ParallelCorpus c = ag::data::read_parallel(src, trg);
  ASSERT_EQ(c.size(), 2);
  EXPECT_EQ(c.source[1], (Tokens{"zwei", "katzen", "spielen", "."}));
  EXPECT_EQ(c.target[0], (Tokens{"a", "dog", "."}));  // \r\n handled
  fs::remove(src);
  fs::remove(trg);
}

TEST(ParallelCorpus, LineCountMismatchAndMissingFileNameBothFiles) {
  const fs::path src = temp_file("a.de", "eins\nzwei\ndrei\n");
  const fs::path trg = temp_file("a.en", "one\ntwo\n");
  const std::string msg = error_of([&] { ag::data::read_parallel(src, trg); });
  ag::testing::expect_mentions(msg, {src.string(), "3 lines", trg.string(), "2"});
  ag::testing::expect_mentions(error_of([&] { ag::data::read_parallel(src, "/nonexistent/x.en"); }), {"/nonexistent/x.en"});
  fs::remove(src);
  fs::remove(trg);
}

// A truncated .gz read without error (eval scored 12 of 200 lines, exit 0), and random bytes named
// .gz trained as text: both are refused, naming the file.
TEST(ParallelCorpus, TruncatedFakeAndBinaryFilesAreRefusedNamingTheFile) {
  ag::testing::TempDir tmp;
  std::string lines;
  for (int i = 0; i < 200; ++i) lines += "sentence number " + std::to_string(i) + " .\n";
  ag::testing::write_bytes(tmp.path / "ref.en", lines);
  const std::string gz = ag::testing::gzip(lines);
  ag::testing::write_bytes(tmp.path / "cut.de.gz", gz.substr(0, gz.size() / 3));
  ag::testing::expect_mentions(error_of([&] { ag::data::read_parallel(tmp.path / "cut.de.gz", tmp.path / "ref.en"); }),
                               {(tmp.path / "cut.de.gz").string(), "truncated"});
  ag::testing::write_bytes(tmp.path / "fake.de.gz", ag::testing::random_bytes(3000));
  ag::testing::expect_mentions(error_of([&] { ag::data::read_parallel(tmp.path / "fake.de.gz", tmp.path / "ref.en"); }),
                               {(tmp.path / "fake.de.gz").string(), "not gzip"});
  ag::testing::write_bytes(tmp.path / "binary.de", ag::testing::random_bytes(3000));
  ag::testing::expect_mentions(error_of([&] { ag::data::read_parallel(tmp.path / "ref.en", tmp.path / "binary.de"); }),
                               {(tmp.path / "binary.de").string(), "not a text file"});
}

TEST(SentenceTokenizer, MosesStyleAsMulti30k) {
  EXPECT_EQ(ag::data::tokenize_sentence("Two young, White males are outside near many bushes."),
            (Tokens{"two", "young", ",", "white", "males", "are", "outside", "near", "many", "bushes", "."}));
  EXPECT_EQ(ag::data::tokenize_sentence("A little boy playing GameCube at a McDonald's."),
            (Tokens{"a", "little", "boy", "playing", "gamecube", "at", "a", "mcdonald", "&apos;s", "."}));
  EXPECT_EQ(ag::data::tokenize_sentence("Ein Junge bei McDonald's.", "de"),
            (Tokens{"ein", "junge", "bei", "mcdonald", "&apos;", "s", "."}));
  EXPECT_EQ(ag::data::tokenize_sentence("Ein „Mongolian BBQ“-Schild und Limonade- und Bierdosen.", "de"),
            (Tokens{"ein", "&quot;", "mongolian", "bbq", "&quot;", "-schild", "und", "limonade-", "und", "bierdosen", "."}));
  EXPECT_EQ(ag::data::tokenize_sentence("A blond-haired \"kid\" & 3.5 dogs!"),
            (Tokens{"a", "blond-haired", "&quot;", "kid", "&quot;", "&amp;", "3.5", "dogs", "!"}));
  EXPECT_EQ(ag::data::tokenize_sentence("ÄPFEL und Übermut"), (Tokens{"äpfel", "und", "übermut"}));
  EXPECT_TRUE(ag::data::tokenize_sentence("").empty());
}

TEST(Bucketing, SimilarLengthsTokenBudgetEveryPairOnceSeeded) {
  std::vector<int64_t> src, trg;
  for (int i = 0; i < 500; ++i) src.push_back(3 + (i * 7919) % 40), trg.push_back(2 + (i * 104729) % 45);
  const auto batches = ag::data::bucket_batches(src, trg, /*max_tokens=*/400, 0, /*seed=*/3, /*epoch=*/0);
  std::set<int64_t> seen;
  for (const auto& b : batches) {
    int64_t s = 0, t = 0, lo = 1000, hi = 0;
    for (int64_t i : b) {
      EXPECT_TRUE(seen.insert(i).second) << "pair " << i << " appears twice";
      s = std::max(s, src[i]), t = std::max(t, trg[i]);
      lo = std::min(lo, src[i]), hi = std::max(hi, src[i]);
    }
    EXPECT_LE(static_cast<int64_t>(b.size()) * (s + t), 400);
    EXPECT_LE(hi - lo, 2) << "a batch mixes source lengths " << lo << " and " << hi;
  }
  EXPECT_EQ(seen.size(), 500u);
  EXPECT_EQ(ag::data::bucket_batches(src, trg, 400, 0, 3, 0), batches);
  EXPECT_NE(ag::data::bucket_batches(src, trg, 400, 0, 3, 1), batches);
  for (const auto& b : ag::data::bucket_batches(src, trg, 0, 16, 3, 0)) EXPECT_LE(b.size(), 16u);
  EXPECT_EQ(ag::data::bucket_batches({100}, {100}, 50, 0, 0, 0).size(), 1u);  // too long alone: its own batch
  EXPECT_THROW(ag::data::bucket_batches({1}, {1, 2}, 10, 0, 0, 0), ag::Error);
}

// The real Multi30k: the tokenizer reproduces the dataset's own tokenisation of nearly every
// training sentence (skipped where the data is absent).
TEST(Multi30k, TokenizerMatchesTheDatasetsTokenisation) {
  fs::path dir;
  try {
    dir = ag::data::find_multi30k();
  } catch (const ag::Error& e) {
    GTEST_SKIP() << "Multi30k not found, skipping: " << e.what();
  }
  for (const std::string lang : {"en", "de"}) {
    if (!fs::exists(dir / ("train." + lang + ".gz"))) GTEST_SKIP() << "no raw train." << lang << ".gz in " << dir;
    const ag::data::ParallelCorpus c =
        ag::data::read_parallel(dir / ("train." + lang + ".gz"), dir / ("train.lc.norm.tok." + lang + ".gz"));
    EXPECT_EQ(c.size(), 29000);
    int64_t same = 0;
    for (int64_t i = 0; i < c.size(); ++i) {
      std::string raw;
      for (const auto& t : c.source[i]) raw += t + " ";
      same += ag::data::tokenize_sentence(raw, lang) == c.target[i];
    }
    fmt::print("[multi30k] {}: {} of {} raw training sentences tokenised exactly as the dataset\n", lang, same,
               c.size());
    EXPECT_GE(static_cast<double>(same) / static_cast<double>(c.size()), 0.99);
  }
  const ag::data::ParallelCorpus val = ag::data::read_multi30k(dir, "val", "de", "en");
  EXPECT_EQ(val.size(), 1014);
}

}  // namespace
