#include "attograd/nn/sealed_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "attograd/core/error.h"

namespace ag {

namespace {

constexpr std::array<unsigned char, 8> kMagic = {0x89, 'a', 'g', 's', 'e', 'a', 'l', 0x1a};
constexpr std::array<unsigned char, 8> kHdf5Signature = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
constexpr uint32_t kSealVersion = 1;
constexpr size_t kVersionAt = 8, kCrcAt = 12, kSizeAt = 16, kFieldsEnd = 24;

void put_le(std::string& bytes, size_t at, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t get_le(std::string_view bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return value;
}

bool starts_with(std::string_view bytes, const std::array<unsigned char, 8>& prefix) {
  return bytes.size() >= prefix.size() && std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

// CRC-32 of `bytes` with the 4 bytes of the CRC field read as zero.
uint32_t seal_crc(std::string_view bytes) {
  static constexpr unsigned char kZeros[4] = {0, 0, 0, 0};
  auto crc = [](uLong acc, const void* data, size_t n) {
    const auto* p = static_cast<const Bytef*>(data);
    while (n > 0) {  // zlib takes uInt lengths
      const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
      acc = crc32(acc, p, chunk);
      p += chunk;
      n -= chunk;
    }
    return acc;
  };
  uLong acc = crc32(0L, Z_NULL, 0);
  acc = crc(acc, bytes.data(), kCrcAt);
  acc = crc(acc, kZeros, sizeof kZeros);
  acc = crc(acc, bytes.data() + kCrcAt + 4, bytes.size() - kCrcAt - 4);
  return static_cast<uint32_t>(acc);
}

std::string os_error() { return std::strerror(errno); }

// Writes all of `bytes` to `fd`, retrying short writes and interrupted calls.
bool write_all(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Fsyncs a folder so that a rename in it survives a crash (some file systems refuse; that is not
// an error, the rename itself has happened).
void fsync_folder(const std::string& path) {
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void seal(std::string& image) {
  check(image.size() >= kSealSize, "seal: an image of {} bytes has no room for the {}-byte seal", image.size(),
        kSealSize);
  std::memset(image.data(), 0, kSealSize);
  std::memcpy(image.data(), kMagic.data(), kMagic.size());
  put_le(image, kVersionAt, kSealVersion, 4);
  put_le(image, kSizeAt, image.size(), 8);
  put_le(image, kCrcAt, seal_crc(image), 4);
}

SealState verify_seal(std::string_view bytes, const std::string& name) {
  if (starts_with(bytes, kHdf5Signature)) return SealState::Unsealed;
  check(starts_with(bytes, kMagic),
        "'{}' is not an HDF5 file written by attograd or h5py (its first bytes are neither attograd's seal nor the "
        "HDF5 signature: damaged, or another kind of file)",
        name);
  check(bytes.size() >= kSealSize, "'{}' is truncated: {} bytes, shorter than its own {}-byte header", name,
        bytes.size(), kSealSize);
  const uint64_t version = get_le(bytes, kVersionAt, 4);
  check(version == kSealVersion, "'{}' has seal version {}, but this build reads version {} (damaged, or newer)", name,
        version, kSealVersion);
  const uint64_t size = get_le(bytes, kSizeAt, 8);
  check(size == bytes.size(), "'{}' is damaged or truncated: its header says {} bytes, the file has {}", name, size,
        bytes.size());
  for (size_t i = kFieldsEnd; i < kSealSize; ++i)
    check(bytes[i] == 0, "'{}' is damaged: byte {} of its header is not zero", name, i);
  const uint64_t stored = get_le(bytes, kCrcAt, 4);
  const uint32_t actual = seal_crc(bytes);
  check(stored == actual,
        "'{}' is damaged: its checksum does not match its content (CRC-32 {:08x} recorded, {:08x} computed); the file "
        "changed after it was written",
        name, stored, actual);
  return SealState::Sealed;
}

std::string read_whole_file(const std::string& path) {
  std::error_code ec;
  check(std::filesystem::exists(path, ec), "'{}' does not exist", path);
  check(std::filesystem::is_regular_file(path, ec), "'{}' is not a regular file", path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  check(fd >= 0, "cannot open '{}': {}", path, os_error());
  std::string out;
  char buffer[1 << 16];
  while (true) {  // grows with what is read, not with what the size claims
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = os_error();
      ::close(fd);
      throw Error(fmt::format("cannot read '{}': {}", path, why));
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string temporary_path_for(const std::string& path) { return fmt::format("{}.tmp-{}", path, ::getpid()); }

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = temporary_path_for(path);
  auto fail = [&](const std::string& why, bool remove_tmp) {
    if (remove_tmp) ::unlink(tmp.c_str());
    throw Error(fmt::format("cannot write '{}' (the previous file, if any, is untouched): {}", path, why));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(fmt::format("cannot create '{}': {}", tmp, os_error()), false);
  const bool written = write_all(fd, bytes);
  const std::string write_error = written ? "" : os_error();
  const bool synced = written && ::fsync(fd) == 0;
  const std::string sync_error = synced ? "" : os_error();
  const bool closed = ::close(fd) == 0;  // NFS and some others report write errors only here
  if (!written) fail(fmt::format("writing '{}' failed: {}", tmp, write_error), true);
  if (!synced) fail(fmt::format("fsync of '{}' failed: {}", tmp, sync_error), true);
  if (!closed) fail(fmt::format("closing '{}' failed: {}", tmp, os_error()), true);
  // Read it back: what the file system returns must be what was meant to be written.
  std::string back;
  try {
    back = read_whole_file(tmp);
  } catch (const Error& e) {
    fail(e.what(), true);
  }
  if (back != bytes) fail(fmt::format("'{}' reads back differently from what was written", tmp), true);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    fail(fmt::format("cannot rename '{}' to '{}': {}", tmp, path, os_error()), true);
  fsync_folder(path);
}

}  // namespace ag
