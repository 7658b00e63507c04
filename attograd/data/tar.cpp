#include "attograd/data/tar.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attograd/core/error.h"
#include "attograd/data/input_file.h"

namespace ag::data {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBlock = 512;                    // tar's unit: headers and data are whole blocks
constexpr size_t kChunk = size_t{1} << 16;        // file data is copied this much at a time
constexpr uint64_t kMaxNameData = uint64_t{1} << 16;  // a longer GNU long name or pax header is no file name

// One header block (POSIX ustar; old GNU tar uses the same offsets for every field read here).
struct TarHeader {
  char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], checksum[8], typeflag, linkname[100];
  char magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8], prefix[155], pad[12];
};
static_assert(sizeof(TarHeader) == kBlock);

// A numeric field: octal digits, optionally after spaces, ended by a space or a NUL (or the field's
// end). An empty field is 0. Anything else is not a tar number.
std::optional<uint64_t> parse_octal(const char* field, size_t width) {
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  uint64_t value = 0;  // at most 12 octal digits: fits easily
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) value = value * 8 + static_cast<uint64_t>(field[i] - '0');
  for (; i < width && field[i] != '\0'; ++i)
    if (field[i] != ' ') return std::nullopt;
  return value;
}

std::string field_string(const char* field, size_t width) { return std::string(field, strnlen(field, width)); }

// The header's checksum is the sum of its bytes with the checksum field read as spaces; old tars
// summed signed chars, so both sums are accepted.
bool checksum_matches(const TarHeader& h, uint64_t stored) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(&h);
  const size_t field = offsetof(TarHeader, checksum);
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= field && i < field + sizeof h.checksum;
    unsigned_sum += in_field ? ' ' : bytes[i];
    signed_sum += in_field ? ' ' : static_cast<signed char>(bytes[i]);
  }
  return static_cast<int64_t>(stored) == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

bool all_zero(const char* block) {
  return std::all_of(block, block + kBlock, [](char c) { return c == '\0'; });
}

uint64_t padding_of(uint64_t size) { return (kBlock - size % kBlock) % kBlock; }

// Walks an archive header by header, writing what it holds under `into`.
class Extractor {
 public:
  Extractor(const fs::path& archive, const fs::path& into) : archive_(archive), into_(into), in_(archive) {}

  void run() {
    while (next_entry()) {
    }
  }

 private:
  // Reads and handles one entry; false at the end of the archive.
  bool next_entry() {
    TarHeader h;
    char* block = reinterpret_cast<char*>(&h);
    const size_t got = in_.read(block, kBlock);
    if (got == 0) return false;  // no end-of-archive blocks: tolerated, as tar does
    ++entry_;
    name_ = "";
    if (got < kBlock) fail("truncated: the archive ends inside the header of entry {}", entry_);
    if (all_zero(block)) return false;  // the zero blocks that end an archive
    const std::optional<uint64_t> stored = parse_octal(h.checksum, sizeof h.checksum);
    const std::optional<uint64_t> size = parse_octal(h.size, sizeof h.size);
    if (!stored || !size) fail("not a tar archive: bad number in the header of entry {}", entry_);
    if (!checksum_matches(h, *stored)) fail("not a tar archive: the header of entry {} fails its checksum", entry_);

    if (!long_name_.empty()) {
      name_ = std::move(long_name_);
      long_name_.clear();
    } else {
      name_ = field_string(h.name, sizeof h.name);
      // POSIX ustar ("ustar\0") may put the start of a long path in `prefix`; old GNU tar ("ustar  ")
      // keeps other data there.
      if (std::memcmp(h.magic, "ustar", 6) == 0 && h.prefix[0] != '\0')
        name_ = field_string(h.prefix, sizeof h.prefix) + "/" + name_;
    }
    switch (h.typeflag) {
      case '0': case '\0': case '7':  // regular file ('7': contiguous file, a regular file elsewhere)
        if (name_.empty() || name_.back() != '/') {
          write_file(*size);
          break;
        }
        [[fallthrough]];  // a "file" named "dir/" is how old tars wrote folders
      case '5':
        make_folders(clean_path(/*file=*/false));
        skip_data(*size);
        break;
      case 'L':  // GNU: this entry's data is the next entry's name
        long_name_ = read_name_data(*size, "GNU long name");
        long_name_.resize(strnlen(long_name_.c_str(), long_name_.size()));
        if (long_name_.empty()) fail("entry {}: an empty GNU long name", entry_);
        break;
      case 'x':  // pax extended header: "<length> <key>=<value>\n" records; "path" names the next entry
        long_name_ = pax_path(read_name_data(*size, "pax header"));
        break;
      default:  // links, devices, fifos, pax global headers, GNU extras: nothing to write
        skip_data(*size);
    }
    return true;
  }

  template <class... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    std::string where = archive_.string() + ": ";
    throw Error(where + fmt::format(f, std::forward<Args>(args)...));
  }

  // "entry 3 'aclImdb/train/neg/1_2.txt'", for messages.
  std::string entry_label() const { return fmt::format("entry {} '{}'", entry_, name_); }

  [[noreturn]] void fail_truncated(uint64_t size, uint64_t got) const {
    fail("truncated: the archive ends inside {} ({} bytes claimed, {} there)", entry_label(), size, got);
  }

  // Skips an entry's data and the padding to the next block.
  void skip_data(uint64_t size) {
    const uint64_t got = in_.skip(size);
    if (got < size) fail_truncated(size, got);
    skip_padding(size);
  }

  void skip_padding(uint64_t size) {
    const uint64_t pad = padding_of(size);
    if (in_.skip(pad) < pad) fail("truncated: the archive ends inside the padding after {}", entry_label());
  }

  // The data of a GNU long name or a pax header, read as it arrives (never sized by the header).
  std::string read_name_data(uint64_t size, const char* what) {
    if (size > kMaxNameData) fail("{}: a {} of {} bytes (at most {} accepted)", entry_label(), what, size, kMaxNameData);
    std::string data;
    char chunk[4096];
    while (data.size() < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(size - data.size(), sizeof chunk));
      const size_t got = in_.read(chunk, want);
      data.append(chunk, got);
      if (got < want) fail_truncated(size, data.size());
    }
    skip_padding(size);
    return data;
  }

  // The "path" record of a pax header ("" when there is none).
  std::string pax_path(const std::string& data) const {
    std::string path;
    size_t pos = 0;
    while (pos < data.size() && data[pos] != '\0') {
      size_t length = 0, i = pos;
      while (i < data.size() && i - pos < 7 && data[i] >= '0' && data[i] <= '9') length = length * 10 + static_cast<size_t>(data[i++] - '0');
      const bool ok = i > pos && i < data.size() && data[i] == ' ' && length > i - pos + 1 &&
                      length <= data.size() - pos && data[pos + length - 1] == '\n';
      if (!ok) fail("{}: a malformed pax header record at byte {}", entry_label(), pos);
      const std::string record = data.substr(i + 1, pos + length - 1 - (i + 1));  // key=value
      const size_t equals = record.find('=');
      if (equals == std::string::npos) fail("{}: a pax header record without '=' at byte {}", entry_label(), pos);
      if (record.compare(0, equals, "path") == 0 && equals == 4) path = record.substr(equals + 1);
      pos += length;
    }
    return path;
  }

  // The entry's name as a relative path without "." parts, refusing absolute paths and "..".
  fs::path clean_path(bool file) const {
    if (name_.empty()) fail("entry {} has no name", entry_);
    if (name_[0] == '/') fail("refusing {}: an absolute path", entry_label());
    fs::path clean;
    for (const fs::path& part : fs::path(name_)) {
      if (part == "..") fail("refusing {}: a path with '..'", entry_label());
      if (part.empty() || part == ".") continue;
      clean /= part;
    }
    if (file && (clean.empty() || name_.back() == '/')) fail("{}: a file entry whose name is a folder", entry_label());
    return clean;
  }

  // Creates into_/relative folder by folder, checking that no part of it is a file already.
  void make_folders(const fs::path& relative) {
    fs::path at = into_;
    for (const fs::path& part : relative) {
      at /= part;
      std::error_code ec;
      const fs::file_status status = fs::symlink_status(at, ec);
      if (status.type() == fs::file_type::not_found) {
        fs::create_directory(at, ec);
        if (ec) fail("{}: cannot create the folder {}: {}", entry_label(), at.string(), ec.message());
      } else if (ec) {
        fail("{}: cannot inspect {}: {}", entry_label(), at.string(), ec.message());
      } else if (!fs::is_directory(status)) {
        fail("{}: '{}' is a file earlier in the archive, and this entry needs a folder of that name", entry_label(),
             at.lexically_relative(into_).string());
      }
    }
  }

  void write_file(uint64_t size) {
    const fs::path relative = clean_path(/*file=*/true);
    make_folders(relative.parent_path());
    const fs::path target = into_ / relative;
    std::error_code ec;
    if (fs::is_directory(fs::symlink_status(target, ec)))
      fail("{}: a folder of that name is earlier in the archive, and this entry is a file", entry_label());
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(target.c_str(), "wb"), &std::fclose);
    if (!out) fail("{}: cannot write {}: {}", entry_label(), target.string(), std::strerror(errno));
    if (!chunk_) chunk_ = std::make_unique<char[]>(kChunk);
    uint64_t written = 0;
    while (written < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(size - written, kChunk));
      const size_t got = in_.read(chunk_.get(), want);
      if (std::fwrite(chunk_.get(), 1, got, out.get()) != got)
        fail("{}: cannot write {}: {}", entry_label(), target.string(), std::strerror(errno));
      written += got;
      if (got < want) fail_truncated(size, written);
    }
    if (std::fclose(out.release()) != 0)
      fail("{}: cannot write {}: {}", entry_label(), target.string(), std::strerror(errno));
    skip_padding(size);
  }

  const fs::path& archive_;
  const fs::path& into_;
  InputFile in_;
  int64_t entry_ = 0;       // headers read so far (the current one included)
  std::string name_;        // the current entry's name
  std::string long_name_;   // from a GNU long name or pax header, for the entry after it
  std::unique_ptr<char[]> chunk_;
};

}  // namespace

void extract_tar(const fs::path& archive, const fs::path& into) {
  std::error_code ec;
  fs::create_directories(into, ec);
  check(!ec, "{}: cannot create the folder {} to extract into: {}", archive.string(), into.string(), ec.message());
  try {
    Extractor(archive, into).run();
  } catch (const fs::filesystem_error& e) {  // every call above reports through error codes; this is a guard
    throw Error(fmt::format("{}: extracting into {}: {}", archive.string(), into.string(), e.code().message()));
  }
}

}  // namespace ag::data
