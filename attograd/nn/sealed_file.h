#pragma once
// Files that are never half-written and are checked before they are parsed.
//
// Every HDF5 file attograd writes starts with a 512-byte seal in the HDF5 user block (a region at
// the start of the file that libhdf5 and h5py skip, so the files stay ordinary HDF5):
//
//   offset  size  field
//   0       8     magic: 0x89 'a' 'g' 's' 'e' 'a' 'l' 0x1a (the 0x89 and 0x1a, as in PNG's magic,
//                 catch transfers that strip the 8th bit or treat the file as text)
//   8       4     seal version (1), little-endian
//   12      4     CRC-32 (zlib's, as in gzip and PNG) of the whole file, computed with this field as zero
//   16      8     the file's size in bytes, little-endian
//   24      488   zero
//
// A CRC-32 detects every 1-, 2- and 3-bit error, every burst of up to 32 bits, and all but one in
// 2^32 other corruptions, so a flipped bit or a truncated copy is refused before libhdf5 reads a
// byte of it (libhdf5 trusts its input: a flipped bit in a string heap can crash it).

#include <string>
#include <string_view>

namespace ag {

/// Bytes reserved for the seal at the start of a sealed file (HDF5's smallest user block).
inline constexpr size_t kSealSize = 512;

/// Writes the seal into the first kSealSize bytes of `image` (an HDF5 file image created with a
/// kSealSize user block, so those bytes are zero and unused).
void seal(std::string& image);

enum class SealState {
  Sealed,    // the seal is intact: the bytes are exactly what attograd wrote
  Unsealed,  // no seal: a plain HDF5 file (written by h5py or another HDF5 writer)
};

/// Checks the seal of a file's bytes. Raises ag::Error naming `name` and what is wrong when the
/// file is neither intact sealed nor plain HDF5 (a damaged seal, a wrong size, a wrong checksum).
SealState verify_seal(std::string_view bytes, const std::string& name);

/// The whole content of a file. Raises ag::Error naming it when it is missing, not a regular file,
/// or unreadable.
std::string read_whole_file(const std::string& path);

/// Writes `bytes` to `path` so that `path` is either its old content or all of `bytes`, never a
/// mix, whatever happens (a full disk, a size limit, a crash, a kill): writes `path`.tmp-<pid>,
/// fsyncs it, reads it back and compares, renames it over `path`, fsyncs the folder. On failure
/// the temporary file is removed, `path` is untouched, and ag::Error names `path` and the cause.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// The temporary name write_file_atomically() uses for `path` in this process.
std::string temporary_path_for(const std::string& path);

}  // namespace ag
