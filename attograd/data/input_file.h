#pragma once
// Reading files that may be gzip-compressed: a stream that inflates gzip (detected by its magic
// bytes, not its name) and passes other files through, and whole-file helpers on top of it.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace ag::data {

/// A file read front to back in chunks: its bytes as they are, or inflated when it starts with the
/// gzip magic bytes (1f 8b). Several gzip members one after another read as one stream (what
/// `cat a.gz b.gz` makes), and zero bytes after the last member are ignored (some tools pad).
/// Every problem raises ag::Error naming the file: it cannot be opened; its name ends in .gz or .tgz
/// but it is not gzip; the compressed data is corrupt; or the file ends before the gzip stream does
/// (a truncated download).
class InputFile {
 public:
  explicit InputFile(const std::filesystem::path& path);
  ~InputFile();  // out of line: Inflater is complete only in the .cpp
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// Reads up to n bytes into out; returns how many (fewer than n only at the end, 0 once there).
  size_t read(char* out, size_t n);
  /// Reads and discards up to n bytes; returns how many were there.
  uint64_t skip(uint64_t n);

  const std::filesystem::path& path() const { return path_; }
  bool gzip() const { return inflater_ != nullptr; }

 private:
  struct Inflater;  // zlib's state, kept out of this header
  bool fill();      // reads the next raw chunk into the input buffer; false at the end of the file
  size_t read_plain(char* out, size_t n);
  size_t read_gzip(char* out, size_t n);

  std::filesystem::path path_;
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file_;
  std::unique_ptr<unsigned char[]> buffer_;  // raw bytes read from the file
  size_t begin_ = 0, end_ = 0;               // buffer_[begin_, end_) is not consumed yet
  std::unique_ptr<Inflater> inflater_;       // null for a plain file
};

/// The whole content of a file, inflated if it is gzip (see InputFile for the errors). Any bytes:
/// binary files read as well as text.
std::string read_file(const std::filesystem::path& path);

/// Like read_file, for files that must be text: content with a NUL byte is refused naming the file
/// and the line (random bytes, or a binary file given by mistake, are not a corpus).
std::string read_text_file(const std::filesystem::path& path);

}  // namespace ag::data
