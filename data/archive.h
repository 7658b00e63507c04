#pragma once
// Reading gzip files and extracting .tar.gz archives (what the IMDB dataset ships as).

#include <filesystem>
#include <string>

namespace ag::data {

/// The whole content of a file, decompressed if it is gzip (detected by its magic bytes, so .gz
/// and plain files read alike). Raises ag::Error naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// Extracts a .tar.gz archive into `destination` (which must not exist yet): it is unpacked into a
/// temporary sibling folder and renamed into place only when complete, so an interrupted
/// extraction never leaves a half-filled `destination`. Regular files and folders only; entries
/// with absolute paths or ".." are refused.
void extract_tar_gz(const std::filesystem::path& archive, const std::filesystem::path& destination);

/// Extracts `archive` once into cache_dir()/<cache_name> and returns that folder; later calls return
/// the existing folder at once.
std::filesystem::path extract_once(const std::filesystem::path& archive, const std::string& cache_name);

}  // namespace ag::data
