#include "attograd/data/archive.h"

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

#include "attograd/core/error.h"
#include "attograd/data/data_path.h"
#include "attograd/data/tar.h"

namespace ag::data {

namespace fs = std::filesystem;

namespace {

// Extracts into a temporary sibling of `destination` and renames it into place; `destination` may
// appear meanwhile (another process finishing first), which is fine.
void extract_staged(const fs::path& archive, const fs::path& destination, const TreeCheck& accept) {
  fs::path staging = destination;
  staging += fmt::format(".partial-{}-{:08x}", ::getpid(), std::random_device{}());
  std::error_code ec;
  try {
    extract_tar(archive, staging);
    if (accept) {
      const std::string lacks = accept(staging);
      check(lacks.empty(), "{}: not the archive expected: {} (nothing was kept)", archive.string(), lacks);
    }
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  fs::rename(staging, destination, ec);
  if (ec) {  // another process may have renamed the same extraction into place first: use theirs
    const std::string reason = ec.message();
    fs::remove_all(staging, ec);
    check(fs::is_directory(destination, ec), "{}: cannot move the extracted files to {}: {}", archive.string(),
          destination.string(), reason);
  }
}

}  // namespace

void extract_tar_gz(const fs::path& archive, const fs::path& destination, const TreeCheck& accept) {
  std::error_code ec;
  check(!fs::exists(fs::symlink_status(destination, ec)), "{}: cannot extract into {}: it exists already",
        archive.string(), destination.string());
  extract_staged(archive, destination, accept);
}

ArchiveIdentity archive_identity(const fs::path& archive) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(archive.c_str(), "rb"), &std::fclose);
  check(file != nullptr, "cannot open {}: {}", archive.string(), std::strerror(errno));
  ArchiveIdentity id;
  id.crc32 = static_cast<uint32_t>(::crc32_z(0, Z_NULL, 0));
  const size_t chunk = size_t{1} << 20;
  std::unique_ptr<unsigned char[]> buffer(new unsigned char[chunk]);
  while (const size_t got = std::fread(buffer.get(), 1, chunk, file.get())) {
    id.crc32 = static_cast<uint32_t>(::crc32_z(id.crc32, buffer.get(), got));
    id.size += got;
  }
  check(!std::ferror(file.get()), "{}: read error: {}", archive.string(), std::strerror(errno));
  return id;
}

fs::path extraction_folder(const fs::path& archive, const std::string& cache_name) {
  const ArchiveIdentity id = archive_identity(archive);
  return cache_dir() / fmt::format("{}-{}-{:08x}", cache_name, id.size, id.crc32);
}

fs::path extract_once(const fs::path& archive, const std::string& cache_name, const TreeCheck& accept) {
  std::error_code ec;
  check(fs::is_regular_file(archive, ec), "cannot read {}: {}", archive.string(),
        ec ? ec.message() : std::string("no such file"));
  const fs::path destination = extraction_folder(archive, cache_name);
  if (fs::is_directory(destination, ec)) return destination;
  extract_staged(archive, destination, accept);
  return destination;
}

}  // namespace ag::data
