#pragma once
// Unpacking tar archives (plain or gzip-compressed: what the IMDB dataset ships as).

#include <filesystem>

namespace ag::data {

/// Unpacks the regular files and folders of a tar archive (ustar, GNU or pax; plain or gzip) into
/// the folder `into` (created if missing). Each entry's data is streamed to its file in fixed-size
/// chunks, so memory stays small whatever sizes the headers claim. Links, devices and other entry
/// types are skipped. Raises ag::Error naming the archive (and the entry, counted from 1, with its
/// name) for: a header that is not tar (bad checksum, bad number), an archive that ends inside an
/// entry ("truncated"), an absolute path or "..", a file and a folder of the same name, and a file
/// or folder that cannot be written (with the system's reason). What was written before an error
/// stays in `into`: callers extract into a temporary folder (see archive.h).
void extract_tar(const std::filesystem::path& archive, const std::filesystem::path& into);

}  // namespace ag::data
