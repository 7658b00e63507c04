// The aclImdb loader and the archive extraction, on small trees and archives the tests write.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/archive.h"
#include "data/data_path.h"
#include "data/imdb.h"
#include "tests/test_util.h"

namespace {

using ag::testing::TempDir;

namespace fs = std::filesystem;
using ag::testing::error_of;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

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

// A ustar header block for a regular file or a folder.
std::string tar_header(const std::string& name, size_t size, char type) {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), name.size());
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[124], 12, "%011zo", size);
  h[156] = type;
  std::memcpy(&h[257], "ustar", 5);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  return h;
}

void write_tar_gz(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& files) {
  std::string tar;
  for (const auto& [name, content] : files) {
    const bool folder = name.back() == '/';
    tar += tar_header(name, folder ? 0 : content.size(), folder ? '5' : '0');
    tar += content;
    tar.append((512 - content.size() % 512) % 512, '\0');
  }
  tar.append(1024, '\0');
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, tar.data(), static_cast<unsigned>(tar.size()));
  gzclose(f);
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
  EXPECT_EQ(acl, tmp.path / "cache" / "attograd" / "aclImdb_v1" / "aclImdb");
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

TEST(Archive, RefusesUnsafePathsAndTruncatedArchives) {
  TempDir tmp;
  write_tar_gz(tmp.path / "evil.tar.gz", {{"../escape.txt", "x"}});
  EXPECT_NE(error_of([&] { ag::data::extract_tar_gz(tmp.path / "evil.tar.gz", tmp.path / "out"); }).find("escape"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(tmp.path / "out"));
  EXPECT_FALSE(fs::exists(tmp.path.parent_path() / "escape.txt"));
  write_tar_gz(tmp.path / "ok.tar.gz", {{"a.txt", std::string(5000, 'a')}});
  {  // keep only half of the compressed file
    std::ifstream in(tmp.path / "ok.tar.gz", std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(tmp.path / "cut.tar.gz", std::ios::binary) << raw.substr(0, raw.size() / 2);
  }
  const std::string msg = error_of([&] { ag::data::extract_tar_gz(tmp.path / "cut.tar.gz", tmp.path / "out2"); });
  EXPECT_NE(msg.find("cut.tar.gz"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(tmp.path / "out2"));
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
