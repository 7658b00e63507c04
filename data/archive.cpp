#include "data/archive.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <random>

#include "core/error.h"
#include "data/data_path.h"

namespace ag::data {

namespace {

// A gzip (or plain) file read in chunks through zlib.
class GzReader {
 public:
  explicit GzReader(const std::filesystem::path& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    check(file_ != nullptr, "cannot open {}", path.string());
    gzbuffer(file_, 1 << 17);
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; returns how many were read (0 at the end).
  size_t read(char* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      const int chunk = static_cast<int>(std::min<size_t>(n - done, 1u << 30));
      const int got = gzread(file_, out + done, static_cast<unsigned>(chunk));
      if (got < 0) {
        int code = 0;
        throw Error(fmt::format("{}: corrupt or truncated gzip data ({})", path_.string(), gzerror(file_, &code)));
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  std::filesystem::path path_;
  gzFile file_;
};

// One 512-byte ustar header block.
struct TarHeader {
  char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], checksum[8], typeflag, linkname[100];
  char magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8], prefix[155], pad[12];
};
static_assert(sizeof(TarHeader) == 512);

int64_t parse_octal(const char* field, size_t width) {
  int64_t value = 0;
  for (size_t i = 0; i < width && field[i]; ++i) {
    if (field[i] == ' ') continue;
    check(field[i] >= '0' && field[i] <= '7', "tar: bad number in a header");
    value = value * 8 + (field[i] - '0');
  }
  return value;
}

std::string field_string(const char* field, size_t width) { return std::string(field, strnlen(field, width)); }

bool safe_relative(const std::string& name) {
  if (name.empty() || name[0] == '/') return false;
  for (const auto& part : std::filesystem::path(name))
    if (part == "..") return false;
  return true;
}

}  // namespace

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), "cannot read {}: no such file", path.string());
  GzReader reader(path);
  std::string out;
  char buffer[1 << 16];
  while (size_t n = reader.read(buffer, sizeof buffer)) out.append(buffer, n);
  return out;
}

void extract_tar_gz(const std::filesystem::path& archive, const std::filesystem::path& destination) {
  namespace fs = std::filesystem;
  check(fs::is_regular_file(archive), "extract: {} is not a file", archive.string());
  check(!fs::exists(destination), "extract: {} exists already", destination.string());
  fs::path staging = destination;
  staging += ".partial-" + std::to_string(std::random_device{}());
  fs::create_directories(staging);
  try {
    GzReader reader(archive);
    std::string long_name;  // from a GNU 'L' entry, for the entry after it
    std::vector<char> data;
    while (true) {
      TarHeader h;
      const size_t got = reader.read(reinterpret_cast<char*>(&h), sizeof h);
      if (got == 0) break;
      check(got == sizeof h, "{}: truncated tar header", archive.string());
      if (h.name[0] == '\0') break;  // the two zero blocks that end an archive
      const int64_t size = parse_octal(h.size, sizeof h.size);
      const int64_t padded = (size + 511) / 512 * 512;
      data.resize(static_cast<size_t>(padded));
      check(reader.read(data.data(), data.size()) == data.size(), "{}: truncated data for {}", archive.string(),
            field_string(h.name, sizeof h.name));
      std::string name = long_name.empty() ? field_string(h.name, sizeof h.name) : long_name;
      if (long_name.empty() && h.prefix[0]) name = field_string(h.prefix, sizeof h.prefix) + "/" + name;
      long_name.clear();
      if (h.typeflag == 'L') {  // GNU long name: the data is the next entry's name
        long_name.assign(data.data(), strnlen(data.data(), static_cast<size_t>(size)));
        continue;
      }
      if (h.typeflag != '0' && h.typeflag != '\0' && h.typeflag != '5') continue;  // links, pax headers...
      check(safe_relative(name), "{}: refusing entry '{}' (absolute path or '..')", archive.string(), name);
      const fs::path target = staging / name;
      if (h.typeflag == '5') {
        fs::create_directories(target);
        continue;
      }
      fs::create_directories(target.parent_path());
      std::ofstream out(target, std::ios::binary);
      out.write(data.data(), size);
      check(out.good(), "extract: cannot write {}", target.string());
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(staging, destination, ec);
  if (ec) {  // another process may have finished the same extraction first: then use theirs
    fs::remove_all(staging, ec);
    check(fs::is_directory(destination), "extract: cannot move the extracted files to {}", destination.string());
  }
}

std::filesystem::path extract_once(const std::filesystem::path& archive, const std::string& cache_name) {
  const std::filesystem::path destination = cache_dir() / cache_name;
  if (std::filesystem::is_directory(destination)) return destination;
  extract_tar_gz(archive, destination);
  return destination;
}

}  // namespace ag::data
