// Fuzz target: the gzip/plain reader (InputFile, read_file, read_text_file). The input is saved
// twice, as input.gz and as input.txt, and read whole and in small pieces. Expected: content or an
// ag::Error, the same either way; read_text_file accepts exactly what read_file reads without a
// NUL byte.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "attograd/core/error.h"
#include "attograd/data/input_file.h"
#include "tests/fuzz/fuzz_util.h"

namespace fs = std::filesystem;

namespace {

// The whole content, or nullopt for an ag::Error.
std::optional<std::string> whole(const fs::path& path) {
  try {
    return ag::data::read_file(path);
  } catch (const ag::Error&) {
    return std::nullopt;
  }
}

std::optional<std::string> in_pieces(const fs::path& path, size_t piece) {
  try {
    ag::data::InputFile in(path);
    std::string out, buffer(piece, '\0');
    while (size_t n = in.read(buffer.data(), piece)) out.append(buffer, 0, n);
    if (in.read(buffer.data(), piece) != 0) ag::fuzz::broken("read gave bytes after its end");
    return out;
  } catch (const ag::Error&) {
    return std::nullopt;
  }
}

void check(const fs::path& path) {
  const std::optional<std::string> content = whole(path);
  if (!content || content->size() <= (1u << 16))  // pieces of a large inflated input would only be slow
    for (size_t piece : {1, 7, 4096})
      if (in_pieces(path, piece) != content) ag::fuzz::broken("reading in pieces differs from reading whole");
  bool text = false;
  try {
    text = ag::data::read_text_file(path) == content;
  } catch (const ag::Error&) {
  }
  if (text != (content && content->find('\0') == std::string::npos))
    ag::fuzz::broken("read_text_file does not accept exactly the content without NUL bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& dir = ag::fuzz::fresh_scratch();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ag::fuzz::write_file(dir / "input.gz", bytes);
  ag::fuzz::write_file(dir / "input.txt", bytes);
  check(dir / "input.gz");
  check(dir / "input.txt");
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;  // detected by these bytes, whatever the name
  if (!gzip && whole(dir / "input.txt") != std::string(bytes)) ag::fuzz::broken("a plain file did not read as its bytes");
  return 0;
}
