#include "attograd/data/input_file.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "attograd/core/error.h"

namespace ag::data {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = size_t{1} << 16;  // raw bytes read from the file at a time

bool has_gzip_name(const fs::path& path) {
  const fs::path ext = path.extension();
  return ext == ".gz" || ext == ".tgz";
}

}  // namespace

// zlib's inflate state. gzread() would be simpler, but it reports a file that ends inside the
// compressed stream like a clean end of file (its Z_BUF_ERROR), which hides truncated downloads.
struct InputFile::Inflater {
  z_stream zs{};
  bool in_member = false;  // between the header and the trailer of a gzip member
  bool done = false;       // the last member has ended and only the end of the file (or zeros) followed
  int64_t members = 0;     // members read to their end
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() { inflateEnd(&zs); }
};

InputFile::InputFile(const fs::path& path) : path_(path), buffer_(new unsigned char[kChunk]) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  check(status.type() != fs::file_type::not_found, "cannot read {}: no such file", path.string());
  check(!ec, "cannot read {}: {}", path.string(), ec.message());
  check(fs::is_regular_file(status), "cannot read {}: not a regular file", path.string());
  file_.reset(std::fopen(path.c_str(), "rb"));
  check(file_ != nullptr, "cannot open {}: {}", path.string(), std::strerror(errno));
  // The first two bytes decide: 1f 8b is gzip, anything else is read as it is.
  while (end_ < 2 && fill()) {
  }
  if (end_ >= 2 && buffer_[0] == 0x1f && buffer_[1] == 0x8b) {
    inflater_ = std::make_unique<Inflater>();
    const int rc = inflateInit2(&inflater_->zs, 16 + MAX_WBITS);  // 16: a gzip header, not zlib's
    check(rc == Z_OK, "{}: cannot start decompressing (zlib error {})", path.string(), rc);
  } else if (has_gzip_name(path)) {
    throw Error(fmt::format("{}: not gzip data, although the name ends in {} ({})", path.string(),
                            path.extension().string(), end_ == 0 ? "the file is empty" : "no gzip magic bytes"));
  }
}

InputFile::~InputFile() = default;

bool InputFile::fill() {
  if (begin_ == end_) begin_ = end_ = 0;
  const size_t got = std::fread(buffer_.get() + end_, 1, kChunk - end_, file_.get());
  check(!std::ferror(file_.get()), "{}: read error: {}", path_.string(), std::strerror(errno));
  end_ += got;
  return got > 0;
}

size_t InputFile::read(char* out, size_t n) { return inflater_ ? read_gzip(out, n) : read_plain(out, n); }

uint64_t InputFile::skip(uint64_t n) {
  char sink[1 << 14];
  uint64_t skipped = 0;
  while (skipped < n) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n - skipped, sizeof sink));
    const size_t got = read(sink, want);
    skipped += got;
    if (got < want) break;
  }
  return skipped;
}

size_t InputFile::read_plain(char* out, size_t n) {
  const size_t buffered = std::min(n, end_ - begin_);
  std::memcpy(out, buffer_.get() + begin_, buffered);
  begin_ += buffered;
  size_t done = buffered;
  if (done < n) {
    done += std::fread(out + done, 1, n - done, file_.get());
    check(!std::ferror(file_.get()), "{}: read error: {}", path_.string(), std::strerror(errno));
  }
  return done;
}

size_t InputFile::read_gzip(char* out, size_t n) {
  Inflater& inf = *inflater_;
  z_stream& zs = inf.zs;
  size_t produced = 0;
  while (produced < n && !inf.done) {
    if (begin_ == end_ && !fill()) {
      check(!inf.in_member,
            "{}: truncated gzip data: the file ends before the compressed stream does (an incomplete download?)",
            path_.string());
      inf.done = true;
      break;
    }
    if (!inf.in_member) {
      // Between members: zeros pad the end of some files; anything else must be the next member.
      while (begin_ < end_ && buffer_[begin_] == 0) ++begin_;
      if (begin_ == end_) continue;
      if (inf.members > 0) {
        check(buffer_[begin_] == 0x1f, "{}: unexpected bytes after the end of the gzip data", path_.string());
        inflateReset(&zs);
      }
      inf.in_member = true;
    }
    zs.next_in = buffer_.get() + begin_;
    zs.avail_in = static_cast<uInt>(end_ - begin_);
    zs.next_out = reinterpret_cast<Bytef*>(out + produced);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(n - produced, UINT_MAX));
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = static_cast<size_t>(reinterpret_cast<char*>(zs.next_out) - out);
    begin_ = end_ - zs.avail_in;
    if (rc == Z_STREAM_END) {
      inf.in_member = false;
      ++inf.members;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {  // Z_BUF_ERROR: it needs more input, read above
      check(rc != Z_MEM_ERROR, "{}: out of memory while decompressing", path_.string());
      throw Error(fmt::format("{}: corrupt gzip data ({})", path_.string(), zs.msg ? zs.msg : "zlib error"));
    }
  }
  return produced;
}

std::string read_file(const fs::path& path) {
  InputFile in(path);
  std::string out;
  // Grows with the data as it arrives (the file's size says nothing about a gzip file's content).
  while (true) {
    const size_t old = out.size();
    out.resize(old + kChunk);
    const size_t got = in.read(out.data() + old, kChunk);
    out.resize(old + got);
    if (got < kChunk) break;
  }
  return out;
}

std::string read_text_file(const fs::path& path) {
  std::string text = read_file(path);
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n');
    throw Error(fmt::format("{}: not a text file (a NUL byte on line {}, at byte {})", path.string(), line, nul));
  }
  return text;
}

}  // namespace ag::data
