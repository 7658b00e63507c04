#pragma once
// Extracting an archive once into the cache, under a name that changes with the archive's content,
// so that a different archive of the same name is never mistaken for the one extracted before.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace ag::data {

/// What an extracted tree must hold to be kept: "" when the folder `root` is acceptable, otherwise
/// what it lacks, for the error message (e.g. "no aclImdb/test folder").
using TreeCheck = std::function<std::string(const std::filesystem::path& root)>;

/// Extracts a tar archive, plain or gzip (extract_tar in tar.h), into `destination`, which must not
/// exist yet. The archive is unpacked into a temporary sibling folder, checked with `accept` (when
/// given) and renamed into place only when complete and accepted: `destination` is never half
/// filled, and a failed or refused extraction leaves nothing behind. When another process renames
/// its extraction of the same archive into place first, that one is kept and this one removed.
void extract_tar_gz(const std::filesystem::path& archive, const std::filesystem::path& destination,
                    const TreeCheck& accept = {});

/// What identifies an archive's content: its size and the CRC-32 of all its bytes.
struct ArchiveIdentity {
  uint64_t size = 0;
  uint32_t crc32 = 0;
};

/// Reads the whole archive to compute its identity (about 0.1 s per 30 MB from the page cache).
ArchiveIdentity archive_identity(const std::filesystem::path& archive);

/// The cache folder of an archive: cache_dir()/<cache_name>-<size>-<CRC-32 as 8 hex digits>,
/// e.g. ~/.cache/attograd/aclImdb_v1-29541190-b2d9fdd6.
std::filesystem::path extraction_folder(const std::filesystem::path& archive, const std::string& cache_name);

/// Extracts `archive` into extraction_folder(archive, cache_name) unless it is there already, and
/// returns that folder. The extraction goes through extract_tar_gz (temporary folder, `accept`,
/// rename), so two processes extracting at once both end with the same complete folder. Errors
/// name the archive.
std::filesystem::path extract_once(const std::filesystem::path& archive, const std::string& cache_name,
                                   const TreeCheck& accept = {});

}  // namespace ag::data
