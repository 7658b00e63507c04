#pragma once
// Writing the small files, gzip streams and tar archives the data tests read.

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace ag::testing {

/// Writes `bytes` to `path`, creating its folder.
inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// `text` as one gzip member (zlib's deflate with a gzip header).
inline std::string gzip(const std::string& text) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, text.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

/// n bytes from a fixed seed: not gzip, not tar, not text.
inline std::string random_bytes(size_t n, unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xFF);
  out[0] = 'R';  // never the gzip magic by chance
  return out;
}

/// Sets a ustar header's checksum field from its other bytes.
inline void seal_header(std::string& h) {
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  fmt::format_to(&h[148], "{:06o}", sum);
  h[154] = '\0';  // six octal digits, NUL, space
}

/// A POSIX ustar header block for an entry of `type` ('0' file, '5' folder, 'L' GNU long name,
/// 'x' pax header) claiming `size` bytes of data.
inline std::string tar_header(const std::string& name, uint64_t size, char type) {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
  fmt::format_to(&h[100], "{:07o}", 0644);  // the NULs after the fields are the header's own
  fmt::format_to(&h[124], "{:011o}", size);
  h[156] = type;
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  seal_header(h);
  return h;
}

/// An entry's data padded to whole 512-byte blocks.
inline std::string tar_data(const std::string& data) { return data + std::string((512 - data.size() % 512) % 512, '\0'); }

/// A tar archive of (name, content) entries; a name ending in '/' is a folder.
inline std::string tar(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  for (const auto& [name, content] : entries) {
    const bool folder = name.back() == '/';
    out += tar_header(name, folder ? 0 : content.size(), folder ? '5' : '0') + tar_data(folder ? "" : content);
  }
  return out + std::string(1024, '\0');  // the two zero blocks that end an archive
}

inline void write_tar_gz(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  write_bytes(path, gzip(tar(entries)));
}

/// The entries (paths relative to `root`, folders ending in '/') under a folder, sorted.
inline std::vector<std::string> tree_of(const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    out.push_back(e.path().lexically_relative(root).string() + (e.is_directory() ? "/" : ""));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ag::testing
