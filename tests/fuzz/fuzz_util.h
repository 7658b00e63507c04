#pragma once
// What the fuzz targets share: a scratch folder for the files an input becomes, and a reader that
// cuts an input into the pieces a target needs.

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace ag::fuzz {

/// A folder of this process under $TMPDIR, emptied before each input and removed at a normal exit
/// (libFuzzer ends with _Exit: tools/fuzz.sh gives each run a TMPDIR of its own and removes it).
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string templ = (std::filesystem::temp_directory_path() / "attograd-fuzz-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch(), ec);
    });
    return std::filesystem::path(templ);
  }();
  return dir;
}

/// scratch(), emptied: each input starts from nothing. Folders left without permissions are not a
/// concern: the targets never change permissions.
inline const std::filesystem::path& fresh_scratch() {
  const std::filesystem::path& dir = scratch();
  for (const auto& entry : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(entry.path());
  return dir;
}

/// Writes bytes to a file (its folder must exist).
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    fmt::print(stderr, "fuzz: cannot write {}\n", path.string());
    std::abort();
  }
}

/// Takes an input apart front to back; past its end every take gives zeros or empty strings.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(reinterpret_cast<const char*>(data)), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t byte() { return empty() ? 0 : static_cast<uint8_t>(data_[pos_++]); }
  /// Up to n bytes.
  std::string_view take(size_t n) {
    const size_t k = std::min(n, size_ - pos_);
    std::string_view out(data_ + pos_, k);
    pos_ += k;
    return out;
  }
  /// Bytes up to (not including) the next `end` byte, which is consumed; or the rest.
  std::string_view until(char end) {
    const std::string_view rest(data_ + pos_, size_ - pos_);
    const size_t at = rest.find(end);
    if (at == std::string_view::npos) {
      pos_ = size_;
      return rest;
    }
    pos_ += at + 1;
    return rest.substr(0, at);
  }
  std::string_view rest() { return take(size_ - pos_); }

 private:
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

/// Stops the fuzzer with a message: an input broke a property the reader promises.
[[noreturn]] inline void broken(const char* what) {
  fmt::print(stderr, "fuzz: property broken: {}\n", what);
  std::abort();
}

}  // namespace ag::fuzz
