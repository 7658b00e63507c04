// The aclImdb loader and the archive extraction, on small trees and archives the tests write.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "attograd/data/archive.h"
#include "attograd/data/data_path.h"
#include "attograd/data/imdb.h"
#include "attograd/data/input_file.h"
#include "tests/data/archive_util.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ag::testing::error_of;
using ag::testing::expect_mentions;
using ag::testing::TempDir;
using ag::testing::write_tar_gz;

void write(const fs::path& p, const std::string& text) { ag::testing::write_bytes(p, text); }

// A small aclImdb tree: 3 negative and 2 positive train reviews, one of them empty, one with a
// malformed name, one with invalid UTF-8.
fs::path make_tree(const fs::path& root) {
  const fs::path acl = root / "aclImdb";
  write(acl / "train/neg/10_2.txt", "Terrible.<br />Just terrible.");
  write(acl / "train/neg/2_1.txt", "Bad acting, worse plot");
  write(acl / "train/neg/3_3.txt", "");  // empty: skipped and counted
  write(acl / "train/pos/7_9.txt", "A masterpiece!");
  write(acl / "train/pos/notes.txt", "caf\xE9 au lait");  // odd name and Latin-1 bytes: kept, warned
  write(acl / "test/neg/1_4.txt", "meh");
  write(acl / "test/pos/1_8.txt", "good");
  return acl;
}

TEST(Imdb, ReadsTheLayoutInAFixedOrderWithLabelsAndRatings) {
  TempDir tmp;
  const fs::path acl = make_tree(tmp.path);
  const ag::data::ImdbSplit train = ag::data::read_imdb_split(acl, "train");
  ASSERT_EQ(train.reviews.size(), 4u);
  EXPECT_EQ(train.reviews[0].id, 2);  // neg first, by id
  EXPECT_EQ(train.reviews[0].rating, 1);
  EXPECT_EQ(train.reviews[0].label, 0);
  EXPECT_EQ(train.reviews[1].text, "Terrible.<br />Just terrible.");
  EXPECT_EQ(train.reviews[2].label, 1);
  EXPECT_EQ(train.reviews[2].id, -1);  // notes.txt sorts first: no id
  EXPECT_EQ(train.reviews[3].rating, 9);
  EXPECT_EQ(train.skipped, 1);
  std::string warnings;
  for (const auto& w : train.warnings) warnings += w + "\n";
  EXPECT_NE(warnings.find("3_3.txt: empty"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("notes.txt: name is not"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("notes.txt: invalid UTF-8"), std::string::npos) << warnings;
  EXPECT_EQ(ag::data::read_imdb_split(acl, "train", /*per_class=*/1).reviews.size(), 2u);
}

TEST(Imdb, MissingFolderIsAClearError) {
  TempDir tmp;
  const std::string msg = error_of([&] { ag::data::read_imdb_split(tmp.path, "train"); });
  EXPECT_NE(msg.find((tmp.path / "train" / "neg").string()), std::string::npos) << msg;
}

TEST(Archive, ExtractsOnceIntoTheCacheAndReadsGzip) {
  TempDir tmp;
  const fs::path archive = tmp.path / "aclImdb_v1.tar.gz";
  write_tar_gz(archive, {{"aclImdb/", ""},
                         {"aclImdb/train/neg/1_2.txt", "bad"},
                         {"aclImdb/train/pos/1_9.txt", "good"},
                         {"aclImdb/test/neg/1_1.txt", "awful"},
                         {"aclImdb/test/pos/1_10.txt", "great"}});
  ::setenv("XDG_CACHE_HOME", (tmp.path / "cache").c_str(), 1);
  ::setenv("ATTOGRAD_DATA", tmp.path.c_str(), 1);
  const fs::path acl = ag::data::find_imdb();
  EXPECT_EQ(acl, ag::data::extraction_folder(archive, "aclImdb_v1") / "aclImdb");
  EXPECT_EQ(acl.parent_path().filename().string().rfind(fmt::format("aclImdb_v1-{}-", fs::file_size(archive)), 0), 0u) << acl;
  EXPECT_EQ(ag::data::read_imdb_split(acl, "test").reviews[1].text, "great");
  // Second call: already there, nothing extracted again (no partial folders left behind either).
  EXPECT_EQ(ag::data::find_imdb(), acl);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(tmp.path / "cache" / "attograd")) entries += !e.path().empty();
  EXPECT_EQ(entries, 1);
  EXPECT_EQ(ag::data::read_file(archive).substr(0, 8), "aclImdb/");  // gzip transparently decompressed
  ::unsetenv("ATTOGRAD_DATA");
  ::unsetenv("XDG_CACHE_HOME");
}

// The archive is found through $ATTOGRAD_DATA and extracted into a test cache.
struct ImdbArchiveHere {
  explicit ImdbArchiveHere(const fs::path& root) {
    ::setenv("XDG_CACHE_HOME", (root / "cache").c_str(), 1);
    ::setenv("ATTOGRAD_DATA", (root / "data").c_str(), 1);
  }
  ~ImdbArchiveHere() {
    ::unsetenv("ATTOGRAD_DATA");
    ::unsetenv("XDG_CACHE_HOME");
  }
};

// The extraction cache is keyed by the archive's content, not its name: a new aclImdb_v1.tar.gz in
// place of the old one is read afresh, never from the old one's extraction.
TEST(Archive, ADifferentImdbArchiveOfTheSameNameIsReadAfresh) {
  TempDir tmp;
  ImdbArchiveHere here(tmp.path);
  const fs::path archive = tmp.path / "data" / "aclImdb_v1.tar.gz";
  auto write_archive = [&](const std::string& word) {
    write_tar_gz(archive, {{"aclImdb/train/neg/1_2.txt", word + " bad"}, {"aclImdb/train/pos/1_9.txt", word + " good"},
                           {"aclImdb/test/neg/1_1.txt", word + " awful"}, {"aclImdb/test/pos/1_10.txt", word + " great"}});
  };
  write_archive("first");
  EXPECT_EQ(ag::data::read_imdb_split(ag::data::find_imdb(), "train").reviews[0].text, "first bad");
  write_archive("second");
  EXPECT_EQ(ag::data::read_imdb_split(ag::data::find_imdb(), "train").reviews[0].text, "second bad");
}

// An archive without aclImdb/ must leave no cache folder behind: a cached extraction without the
// splits would make every later run fail with "folder missing".
TEST(Archive, AnImdbArchiveWithoutTheSplitsIsRefusedAndLeavesNoCache) {
  TempDir tmp;
  ImdbArchiveHere here(tmp.path);
  const fs::path archive = tmp.path / "data" / "aclImdb_v1.tar.gz";
  write_tar_gz(archive, {{"something/else.txt", "not the reviews"}});
  for (int attempt = 0; attempt < 2; ++attempt)
    expect_mentions(error_of([] { ag::data::find_imdb(); }), {archive.string(), "no aclImdb/train folder"});
  write_tar_gz(archive, {{"aclImdb/train/neg/1_2.txt", "bad"}, {"aclImdb/train/pos/1_9.txt", "good"}});
  expect_mentions(error_of([] { ag::data::find_imdb(); }), {archive.string(), "no aclImdb/test folder"});
  EXPECT_TRUE(fs::is_empty(tmp.path / "cache" / "attograd"));
}

// A symlink loop raises a std::filesystem exception inside the search: it must reach the user as an
// ag::Error naming the path, not as "unexpected error (please report it)".
TEST(Imdb, ASymlinkLoopIsAClearErrorNamingThePath) {
  TempDir tmp;
  fs::create_directory_symlink("aclImdb", tmp.path / "aclImdb");  // aclImdb -> itself
  expect_mentions(error_of([&] { ag::data::read_imdb_split(tmp.path / "aclImdb", "train"); }),
                  {(tmp.path / "aclImdb").string(), "symbolic links"});
  expect_mentions(error_of([&] { ag::data::check_imdb_split(tmp.path / "aclImdb", "test"); }), {"aclImdb", "symbolic links"});
  expect_mentions(error_of([&] { ag::data::find_imdb(tmp.path.string()); }), {"aclImdb", "symbolic links"});
  TempDir inside;
  const fs::path acl = make_tree(inside.path);
  fs::create_symlink("loop.txt", acl / "train" / "neg" / "loop.txt");
  expect_mentions(error_of([&] { ag::data::read_imdb_split(acl, "train"); }), {"train/neg/loop.txt", "symbolic links"});
}

// A class folder without reviews is an error naming it: an empty train/neg would train one class
// alone, an empty test split would score 0.00%, both without a word.
TEST(Imdb, AClassFolderWithoutReviewsIsAnErrorNamingIt) {
  TempDir tmp;
  const fs::path acl = make_tree(tmp.path);
  for (const auto& e : fs::directory_iterator(acl / "train" / "neg")) fs::remove(e.path());
  write(acl / "train" / "neg" / "README", "no .txt here");
  expect_mentions(error_of([&] { ag::data::read_imdb_split(acl, "train"); }), {(acl / "train" / "neg").string(), "no reviews"});
  write(acl / "train" / "neg" / "1_1.txt", " \n ");  // a file, but an empty review
  expect_mentions(error_of([&] { ag::data::read_imdb_split(acl, "train"); }),
                  {(acl / "train" / "neg").string(), "no usable reviews"});
}

TEST(Imdb, CheckImdbSplitFindsAMissingOrEmptySplitWithoutReadingIt) {
  TempDir tmp;
  const fs::path acl = make_tree(tmp.path);
  ag::data::check_imdb_split(acl, "train");
  ag::data::check_imdb_split(acl, "test");
  expect_mentions(error_of([&] { ag::data::check_imdb_split(acl, "valid"); }), {(acl / "valid" / "neg").string(), "missing"});
  fs::remove(acl / "test" / "pos" / "1_8.txt");
  expect_mentions(error_of([&] { ag::data::check_imdb_split(acl, "test"); }), {(acl / "test" / "pos").string(), "no reviews"});
  fs::remove_all(acl / "test");
  expect_mentions(error_of([&] { ag::data::check_imdb_split(acl, "test"); }), {(acl / "test" / "neg").string(), "missing"});
}

TEST(DataPath, ListsEveryFolderTriedAndWhereToGetTheData) {
  ::setenv("ATTOGRAD_DATA", "/nonexistent/env-dir", 1);
  const std::string msg =
      error_of([] { ag::data::find_data("", "the thing", [](const fs::path&) { return false; }, "Get it from X."); });
  ::unsetenv("ATTOGRAD_DATA");
  EXPECT_NE(msg.find("/nonexistent/env-dir (missing)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shared/data"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Get it from X."), std::string::npos) << msg;
}

// A --data the user gives is the only folder looked in: a typo must not silently train on the
// dataset $ATTOGRAD_DATA or shared/data holds.
TEST(DataPath, AGivenFolderIsTheOnlyOneLookedIn) {
  TempDir tmp;
  fs::create_directories(tmp.path / "env" / "thing");
  ::setenv("ATTOGRAD_DATA", (tmp.path / "env").c_str(), 1);
  auto has_thing = [](const fs::path& dir) { return fs::exists(dir / "thing"); };
  EXPECT_EQ(ag::data::find_data("", "the thing", has_thing, ""), tmp.path / "env");
  const std::string msg = error_of([&] { ag::data::find_data("/nonexistent/flag-dir", "the thing", has_thing, "X"); });
  ::unsetenv("ATTOGRAD_DATA");
  EXPECT_NE(msg.find("/nonexistent/flag-dir (missing)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the only folder looked in"), std::string::npos) << msg;
  EXPECT_EQ(msg.find((tmp.path / "env").string()), std::string::npos) << msg;
}

// A run records the folder it trained on; eval and resume use it unless --data is given, and fall
// back to the default search once it is gone.
TEST(DataPath, ARunsRecordedFolderIsUsedUnlessDataIsGivenOrItIsGone) {
  TempDir tmp;
  const std::string recorded = (tmp.path / "recorded").string();
  fs::create_directories(recorded);
  EXPECT_EQ(ag::data::data_flag_for_run("given", recorded), "given");
  EXPECT_EQ(ag::data::data_flag_for_run("", recorded), recorded);
  EXPECT_EQ(ag::data::data_flag_for_run("", ""), "");
  fs::remove_all(recorded);
  EXPECT_EQ(ag::data::data_flag_for_run("", recorded), "");
}

}  // namespace
