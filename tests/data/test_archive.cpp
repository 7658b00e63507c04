// Reading gzip and plain files, extracting tar archives and the extraction cache, on small files
// the tests write: every kind of bad input must end in an ag::Error naming the file.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "attograd/data/archive.h"
#include "attograd/data/data_path.h"
#include "attograd/data/input_file.h"
#include "attograd/data/tar.h"
#include "tests/data/archive_util.h"
#include "tests/test_util.h"

// Whether AddressSanitizer is on (GCC defines __SANITIZE_ADDRESS__, clang has __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define ATTOGRAD_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ATTOGRAD_TEST_ASAN 1
#endif
#endif
#ifndef ATTOGRAD_TEST_ASAN
#define ATTOGRAD_TEST_ASAN 0
#endif

namespace {

namespace fs = std::filesystem;
using ag::testing::error_of;
using ag::testing::expect_mentions;
using ag::testing::gzip;
using ag::testing::random_bytes;
using ag::testing::TempDir;
using ag::testing::write_bytes;
using Entries = std::vector<std::pair<std::string, std::string>>;

std::string numbered_lines(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += "line " + std::to_string(i) + " of a corpus that is long enough to compress\n";
  return text;
}

// ---- gzip and plain files ------------------------------------------------------------------------

TEST(InputFile, ReadsPlainGzipAndConcatenatedMembers) {
  TempDir tmp;
  write_bytes(tmp.path / "plain.txt", "plain text\n");
  write_bytes(tmp.path / "one.gz", gzip("hello "));
  write_bytes(tmp.path / "two.gz", gzip("hello ") + gzip("world") + std::string(20, '\0'));  // cat a.gz b.gz, padded
  write_bytes(tmp.path / "gzip-without-gz-name", gzip("detected by its magic bytes"));
  EXPECT_EQ(ag::data::read_file(tmp.path / "plain.txt"), "plain text\n");
  EXPECT_EQ(ag::data::read_file(tmp.path / "one.gz"), "hello ");
  EXPECT_EQ(ag::data::read_file(tmp.path / "two.gz"), "hello world");
  EXPECT_EQ(ag::data::read_file(tmp.path / "gzip-without-gz-name"), "detected by its magic bytes");
  write_bytes(tmp.path / "empty.txt", "");
  EXPECT_EQ(ag::data::read_file(tmp.path / "empty.txt"), "");
  // Read in odd small pieces, the stream gives the same bytes.
  const std::string text = numbered_lines(3000);
  write_bytes(tmp.path / "big.gz", gzip(text));
  ag::data::InputFile in(tmp.path / "big.gz");
  EXPECT_TRUE(in.gzip());
  std::string pieces;
  char buffer[7];
  while (size_t n = in.read(buffer, sizeof buffer)) pieces.append(buffer, n);
  EXPECT_EQ(pieces, text);
}

// gzread() reports a file cut inside the compressed stream as a clean end of file, so without a
// check of its own a reader would score the part it read and exit 0.
TEST(InputFile, TruncatedGzipIsRefusedNamingTheFile) {
  TempDir tmp;
  const std::string gz = gzip(numbered_lines(2000));
  write_bytes(tmp.path / "cut.gz", gz.substr(0, gz.size() * 6 / 10));
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path / "cut.gz"); }), {(tmp.path / "cut.gz").string(), "truncated"});
  write_bytes(tmp.path / "no-trailer.gz", gz.substr(0, gz.size() - 4));  // only the length field missing
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path / "no-trailer.gz"); }), {"no-trailer.gz", "truncated"});
}

TEST(InputFile, RandomBytesNamedGzAreRefusedNamingTheFile) {
  TempDir tmp;
  write_bytes(tmp.path / "random.gz", random_bytes(4096));
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path / "random.gz"); }),
                  {(tmp.path / "random.gz").string(), "not gzip"});
  write_bytes(tmp.path / "empty.gz", "");
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path / "empty.gz"); }), {"empty.gz", "not gzip", "empty"});
}

TEST(InputFile, CorruptGzipAndTrailingGarbageAreRefused) {
  TempDir tmp;
  std::string gz = gzip(numbered_lines(2000));
  gz[gz.size() / 2] ^= 0x55;
  write_bytes(tmp.path / "corrupt.gz", gz);
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path / "corrupt.gz"); }), {"corrupt.gz", "corrupt"});
  write_bytes(tmp.path / "junk.gz", gzip("fine") + "junk after it");
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path / "junk.gz"); }), {"junk.gz", "after the end"});
}

TEST(InputFile, MissingFilesAndFoldersAreClearErrors) {
  TempDir tmp;
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path / "none.txt"); }), {"none.txt", "no such file"});
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path); }), {tmp.path.string(), "not a regular file"});
  fs::create_symlink("loop.txt", tmp.path / "loop.txt");
  expect_mentions(error_of([&] { ag::data::read_file(tmp.path / "loop.txt"); }), {"loop.txt", "symbolic links"});
}

// Random bytes are not a corpus, whatever their name: a NUL byte is the sign.
TEST(InputFile, TextWithANulByteIsRefusedNamingTheFileAndLine) {
  TempDir tmp;
  write_bytes(tmp.path / "binary.txt", std::string("first line\nsecond\0line\n", 23));
  expect_mentions(error_of([&] { ag::data::read_text_file(tmp.path / "binary.txt"); }),
                  {(tmp.path / "binary.txt").string(), "not a text file", "line 2"});
  EXPECT_EQ(ag::data::read_file(tmp.path / "binary.txt").size(), 23u);  // read_file takes any bytes
  write_bytes(tmp.path / "random", random_bytes(1000));
  expect_mentions(error_of([&] { ag::data::read_text_file(tmp.path / "random"); }), {"random", "not a text file"});
  write_bytes(tmp.path / "binary-inside.gz", gzip(std::string("a\0b", 3)));
  expect_mentions(error_of([&] { ag::data::read_text_file(tmp.path / "binary-inside.gz"); }), {"binary-inside.gz", "NUL"});
}

// ---- tar -------------------------------------------------------------------------------------------

TEST(Tar, ExtractsFilesFoldersAndLongNames) {
  TempDir tmp;
  const std::string long_dir(120, 'd');
  std::string archive = ag::testing::tar({{"top/", ""}, {"top/a.txt", "alpha"}, {"top/empty.txt", ""}});
  // A GNU long name, a pax path, and a ustar prefix.
  const std::string gnu_name = "top/" + long_dir + "/gnu.txt";
  archive.resize(archive.size() - 1024);
  archive += ag::testing::tar_header("././@LongLink", gnu_name.size() + 1, 'L') + ag::testing::tar_data(gnu_name + '\0');
  archive += ag::testing::tar_header("ignored", 4, '0') + ag::testing::tar_data("gnu!");
  const std::string pax_name = "top/" + long_dir + "/pax.txt";
  const std::string record = "path=" + pax_name + "\n";
  const std::string pax = std::to_string(record.size() + 4) + " " + record;  // the length counts itself: 3 digits + space
  archive += ag::testing::tar_header("PaxHeaders/x", pax.size(), 'x') + ag::testing::tar_data(pax);
  archive += ag::testing::tar_header("ignored too", 4, '0') + ag::testing::tar_data("pax!");
  std::string prefixed = ag::testing::tar_header("p.txt", 6, '0');
  std::memcpy(&prefixed[345], "top/prefix", 10);
  ag::testing::seal_header(prefixed);
  archive += prefixed + ag::testing::tar_data("prefix") + ag::testing::tar_header("top/link", 0, '2') + std::string(1024, '\0');
  write_bytes(tmp.path / "a.tar.gz", gzip(archive));
  write_bytes(tmp.path / "a.tar", archive);
  for (const char* name : {"a.tar.gz", "a.tar"}) {
    const fs::path out = tmp.path / (std::string("out-") + name);
    ag::data::extract_tar(tmp.path / name, out);
    EXPECT_EQ(ag::testing::tree_of(out), (std::vector<std::string>{"top/", "top/a.txt", "top/" + long_dir + "/", "top/" + long_dir + "/gnu.txt",
                                                                   "top/" + long_dir + "/pax.txt", "top/empty.txt",
                                                                   "top/prefix/", "top/prefix/p.txt"}));
    EXPECT_EQ(ag::testing::read_bytes(out / gnu_name), "gnu!");
    EXPECT_EQ(ag::testing::read_bytes(out / pax_name), "pax!");
    EXPECT_EQ(ag::testing::read_bytes(out / "top/prefix/p.txt"), "prefix");
  }
}

TEST(Tar, RefusesUnsafePathsAndTruncatedArchives) {
  TempDir tmp;
  ag::testing::write_tar_gz(tmp.path / "evil.tar.gz", {{"../escape.txt", "x"}});
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "evil.tar.gz", tmp.path / "out"); }),
                  {"evil.tar.gz", "'../escape.txt'", ".."});
  EXPECT_FALSE(fs::exists(tmp.path / "out"));
  EXPECT_FALSE(fs::exists(tmp.path.parent_path() / "escape.txt"));
  ag::testing::write_tar_gz(tmp.path / "abs.tar.gz", {{"/tmp/attograd-absolute.txt", "x"}});
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "abs.tar.gz", tmp.path / "out"); }),
                  {"abs.tar.gz", "absolute"});
  const std::string gz = gzip(ag::testing::tar({{"a.txt", random_bytes(20000)}}));
  write_bytes(tmp.path / "cut.tar.gz", gz.substr(0, gz.size() / 2));
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "cut.tar.gz", tmp.path / "out2"); }),
                  {"cut.tar.gz", "truncated"});
  EXPECT_FALSE(fs::exists(tmp.path / "out2"));
  for (const auto& e : fs::directory_iterator(tmp.path)) EXPECT_EQ(e.path().string().find(".partial"), std::string::npos);
}

// A 1 GB size claimed in a ~100-byte archive must not be allocated before its bytes are read (a
// larger claim would end in std::bad_alloc). The extraction must fail at once with "truncated", and
// with little memory: a child process proves it under a 256 MB address-space limit.
TEST(Tar, AHugeClaimedSizeFailsFastWithoutAllocatingIt) {
  TempDir tmp;
  const fs::path archive = tmp.path / "bomb.tar.gz";
  write_bytes(archive, gzip(ag::testing::tar_header("aclImdb/huge.txt", uint64_t{1} << 30, '0')));
  ASSERT_LT(fs::file_size(archive), 200u);
#if !ATTOGRAD_TEST_ASAN  // AddressSanitizer reserves terabytes of address space: no RLIMIT_AS there
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    long pages = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + (rlim_t{256} << 20);
    const rlimit rl{limit, limit};
    ::setrlimit(RLIMIT_AS, &rl);
    try {
      ag::data::extract_tar_gz(archive, tmp.path / "out-child");
    } catch (const ag::Error& e) {
      ::_exit(std::string(e.what()).find("truncated") != std::string::npos ? 0 : 1);
    } catch (...) {
      ::_exit(2);  // std::bad_alloc: it tried to allocate the claim
    }
    ::_exit(3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "1: another ag::Error, 2: another exception (bad_alloc), 3: no error";
#endif
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = error_of([&] { ag::data::extract_tar_gz(archive, tmp.path / "out"); });
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
  expect_mentions(msg, {archive.string(), "truncated", "entry 1 'aclImdb/huge.txt'", "1073741824 bytes claimed"});
  EXPECT_FALSE(fs::exists(tmp.path / "out"));
}

TEST(Tar, RandomBytesAreNotAnArchiveAndTheErrorNamesIt) {
  TempDir tmp;
  write_bytes(tmp.path / "random.tar.gz", random_bytes(5000));
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "random.tar.gz", tmp.path / "out"); }),
                  {(tmp.path / "random.tar.gz").string(), "not gzip"});
  write_bytes(tmp.path / "random.tar", random_bytes(5000));
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "random.tar", tmp.path / "out"); }),
                  {(tmp.path / "random.tar").string(), "not a tar archive"});
  write_bytes(tmp.path / "random-in-gzip.tar.gz", gzip(random_bytes(5000)));
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "random-in-gzip.tar.gz", tmp.path / "out"); }),
                  {"random-in-gzip.tar.gz", "not a tar archive"});
  EXPECT_FALSE(fs::exists(tmp.path / "out"));
}

TEST(Tar, BadHeaderNumbersAndChecksumsNameTheArchiveAndEntry) {
  TempDir tmp;
  std::string bad_size = ag::testing::tar_header("b.txt", 0, '0');
  std::memcpy(&bad_size[124], "0000000001x", 11);
  ag::testing::seal_header(bad_size);
  write_bytes(tmp.path / "bad-number.tar", ag::testing::tar_header("a.txt", 0, '0') + bad_size + std::string(1024, '\0'));
  EXPECT_EQ(error_of([&] { ag::data::extract_tar(tmp.path / "bad-number.tar", tmp.path / "out"); }),
            (tmp.path / "bad-number.tar").string() + ": not a tar archive: bad number in the header of entry 2");
  std::string tampered = ag::testing::tar_header("c.txt", 0, '0');
  tampered[0] = 'C';  // after the checksum was computed
  write_bytes(tmp.path / "bad-sum.tar", tampered + std::string(1024, '\0'));
  expect_mentions(error_of([&] { ag::data::extract_tar(tmp.path / "bad-sum.tar", tmp.path / "out"); }),
                  {"bad-sum.tar", "not a tar archive", "entry 1", "checksum"});
}

// A file and a folder of the same name in one archive: a clear error naming the entry, not a
// std::filesystem exception ("unexpected error (please report it)").
TEST(Tar, AFileAndAFolderOfTheSameNameAreAClearError) {
  TempDir tmp;
  ag::testing::write_tar_gz(tmp.path / "file-then-folder.tar.gz", {{"a", "a file"}, {"a/b.txt", "needs a/ to be a folder"}});
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "file-then-folder.tar.gz", tmp.path / "out"); }),
                  {"file-then-folder.tar.gz", "entry 2 'a/b.txt'", "'a' is a file"});
  ag::testing::write_tar_gz(tmp.path / "folder-then-file.tar.gz", {{"d/", ""}, {"d/x.txt", "x"}, {"d", "a file now"}});
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "folder-then-file.tar.gz", tmp.path / "out"); }),
                  {"folder-then-file.tar.gz", "entry 3 'd'", "folder of that name"});
  ag::testing::write_tar_gz(tmp.path / "file-then-folder-entry.tar.gz", {{"e", "a file"}, {"e/", ""}});
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "file-then-folder-entry.tar.gz", tmp.path / "out"); }),
                  {"file-then-folder-entry.tar.gz", "entry 2 'e/'", "'e' is a file"});
  EXPECT_FALSE(fs::exists(tmp.path / "out"));
}

TEST(Tar, AnUnwritableDestinationNamesTheArchiveAndTheReason) {
  TempDir tmp;
  ag::testing::write_tar_gz(tmp.path / "ok.tar.gz", {{"a.txt", "a"}});
  write_bytes(tmp.path / "a-file", "not a folder");
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "ok.tar.gz", tmp.path / "a-file" / "out"); }),
                  {"ok.tar.gz", "a-file", "Not a directory"});
  const std::string too_long = std::string(300, 'n') + ".txt";  // in a GNU long-name entry
  write_bytes(tmp.path / "long.tar.gz",
              gzip(ag::testing::tar_header("././@LongLink", too_long.size(), 'L') + ag::testing::tar_data(too_long) +
                   ag::testing::tar({{"short", "a name too long for Linux"}})));
  expect_mentions(error_of([&] { ag::data::extract_tar_gz(tmp.path / "long.tar.gz", tmp.path / "out"); }),
                  {"long.tar.gz", "entry 2 'nnn", "File name too long"});
  EXPECT_FALSE(fs::exists(tmp.path / "out"));
}

// ---- the extraction cache --------------------------------------------------------------------------

// Points the cache at a test folder for the life of the object.
struct CacheHere {
  explicit CacheHere(const fs::path& dir) { ::setenv("XDG_CACHE_HOME", dir.c_str(), 1); }
  ~CacheHere() { ::unsetenv("XDG_CACHE_HOME"); }
  fs::path dir() const { return ag::data::cache_dir(); }
};

size_t entries_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(ExtractionCache, IsNamedByTheArchivesSizeAndCrc) {
  TempDir tmp;
  CacheHere cache(tmp.path / "cache");
  ag::testing::write_tar_gz(tmp.path / "data.tar.gz", {{"x.txt", "x"}});
  const ag::data::ArchiveIdentity id = ag::data::archive_identity(tmp.path / "data.tar.gz");
  const std::string bytes = ag::testing::read_bytes(tmp.path / "data.tar.gz");
  EXPECT_EQ(id.size, bytes.size());
  EXPECT_EQ(id.crc32, crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
  const fs::path folder = ag::data::extract_once(tmp.path / "data.tar.gz", "data");
  EXPECT_EQ(folder, cache.dir() / fmt::format("data-{}-{:08x}", id.size, id.crc32));
  EXPECT_EQ(ag::testing::read_bytes(folder / "x.txt"), "x");
  EXPECT_EQ(ag::data::extract_once(tmp.path / "data.tar.gz", "data"), folder);
  EXPECT_EQ(entries_in(cache.dir()), 1u);
}

// The cache is keyed by the archive's size and CRC-32, not its name: a different archive under the
// same name is extracted afresh, so a run never trains on an old extraction.
TEST(ExtractionCache, ADifferentArchiveOfTheSameNameIsExtractedAfresh) {
  TempDir tmp;
  CacheHere cache(tmp.path / "cache");
  const fs::path archive = tmp.path / "data.tar.gz";
  ag::testing::write_tar_gz(archive, {{"review.txt", "the first archive"}});
  const fs::path first = ag::data::extract_once(archive, "data");
  ag::testing::write_tar_gz(archive, {{"review.txt", "the second archive"}});
  const fs::path second = ag::data::extract_once(archive, "data");
  EXPECT_NE(first, second);
  EXPECT_EQ(ag::testing::read_bytes(second / "review.txt"), "the second archive");
}

// A rejected or failed extraction leaves nothing in the cache: the next attempt starts clean.
TEST(ExtractionCache, ARejectedOrFailedExtractionKeepsNothing) {
  TempDir tmp;
  CacheHere cache(tmp.path / "cache");
  ag::testing::write_tar_gz(tmp.path / "other.tar.gz", {{"other/x.txt", "x"}});
  auto needs_data = [](const fs::path& root) { return fs::is_directory(root / "data") ? "" : std::string("no data/ folder"); };
  for (int attempt = 0; attempt < 2; ++attempt)
    expect_mentions(error_of([&] { ag::data::extract_once(tmp.path / "other.tar.gz", "other", needs_data); }),
                    {(tmp.path / "other.tar.gz").string(), "no data/ folder", "nothing was kept"});
  const std::string gz = gzip(ag::testing::tar({{"data/x.txt", random_bytes(30000)}}));
  write_bytes(tmp.path / "cut.tar.gz", gz.substr(0, gz.size() - 100));
  expect_mentions(error_of([&] { ag::data::extract_once(tmp.path / "cut.tar.gz", "cut", needs_data); }),
                  {"cut.tar.gz", "truncated"});
  EXPECT_EQ(entries_in(cache.dir()), 0u);
}

// Two processes extracting the same archive at once both end with the same complete folder.
TEST(ExtractionCache, TwoProcessesRacingBothGetTheCompleteFolder) {
  TempDir tmp;
  CacheHere cache(tmp.path / "cache");
  Entries entries;
  for (int i = 0; i < 300; ++i) entries.emplace_back("data/" + std::to_string(i) + ".txt", random_bytes(3000, i));
  ag::testing::write_tar_gz(tmp.path / "data.tar.gz", entries);
  pid_t children[2];
  for (pid_t& child : children) {
    child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        const fs::path folder = ag::data::extract_once(tmp.path / "data.tar.gz", "data");
        ::_exit(entries_in(folder / "data") == 300 ? 0 : 1);
      } catch (...) {
        ::_exit(2);
      }
    }
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  EXPECT_EQ(entries_in(cache.dir()), 1u);  // one folder, no partial one left
  EXPECT_EQ(entries_in(ag::data::extract_once(tmp.path / "data.tar.gz", "data") / "data"), 300u);
}

}  // namespace
