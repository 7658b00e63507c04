// Fuzz target: the aclImdb reader (read_imdb_split, check_imdb_split, find_imdb) on a small tree
// laid out from the input. The first byte holds options; then each record is a kind byte, a name
// ended by '\n' and, for files, a length byte and that many content bytes. The kind says the split
// (train or test), the label (neg or pos) and what the record is: a review file, a file of another
// extension, a folder, or a symbolic link (to itself, to "..", to nothing).
// Expected: reviews in the promised order and labels, or an ag::Error; check_imdb_split accepts
// every split read_imdb_split can read.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "attograd/core/error.h"
#include "attograd/data/imdb.h"
#include "tests/fuzz/fuzz_util.h"

namespace fs = std::filesystem;

namespace {

// A file name from input bytes: no '/' or NUL, at most 24 bytes, never "." or "..".
std::string file_name(std::string_view raw) {
  raw = raw.substr(0, 24);
  if (raw.empty() || raw == "." || raw == "..") return "r";
  std::string name(raw);
  for (char& c : name)
    if (c == '/' || c == '\0') c = '_';
  return name;
}

// Writes a file unless the name is taken by a folder or a link that cannot be written through.
void try_write(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void lay_out(const fs::path& acl, ag::fuzz::Bytes& in) {
  while (!in.empty()) {
    const uint8_t kind = in.byte();
    const fs::path dir = acl / ((kind & 1) ? "test" : "train") / ((kind & 2) ? "pos" : "neg");
    fs::create_directories(dir);
    const std::string name = file_name(in.until('\n'));
    std::error_code ec;  // a name may collide with an earlier record: then this one is dropped
    switch ((kind >> 2) & 7) {
      case 0: case 1: case 2:
        try_write(dir / (name + ".txt"), in.take(in.byte()));
        break;
      case 3:
        try_write(dir / name, in.take(in.byte()));
        break;
      case 4:
        fs::create_directory(dir / (name + ".txt"), ec);
        break;
      case 5:
        fs::create_symlink(name + ".txt", dir / (name + ".txt"), ec);  // a loop
        break;
      case 6:
        fs::create_directory_symlink("..", dir / (name + ".txt"), ec);
        break;
      case 7:
        fs::create_symlink("missing", dir / (name + ".txt"), ec);  // dangling
        break;
    }
  }
}

void check_split(const fs::path& acl, const std::string& split, int64_t per_class) {
  ag::data::ImdbSplit s;
  try {
    s = ag::data::read_imdb_split(acl, split, per_class);
  } catch (const ag::Error&) {
    return;
  }
  try {
    ag::data::check_imdb_split(acl, split);
  } catch (const ag::Error&) {
    ag::fuzz::broken("check_imdb_split refuses a split read_imdb_split reads");
  }
  int64_t count[2] = {0, 0};
  for (size_t i = 0; i < s.reviews.size(); ++i) {
    const ag::data::Review& r = s.reviews[i];
    if (r.label != 0 && r.label != 1) ag::fuzz::broken("a label other than 0 and 1");
    if (i > 0 && r.label < s.reviews[i - 1].label) ag::fuzz::broken("a negative review after a positive one");
    if (i > 0 && r.label == s.reviews[i - 1].label && r.id < s.reviews[i - 1].id) ag::fuzz::broken("reviews not in id order");
    if (r.text.find_first_not_of(" \t\r\n") == std::string::npos) ag::fuzz::broken("an empty review kept");
    ++count[r.label];
  }
  if (count[0] == 0 || count[1] == 0) ag::fuzz::broken("a split with a class without reviews");
  if (per_class > 0 && (count[0] > per_class || count[1] > per_class)) ag::fuzz::broken("more than per_class reviews");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& root = ag::fuzz::fresh_scratch();
  ag::fuzz::Bytes in(data, size);
  const uint8_t options = in.byte();
  const fs::path acl = root / "aclImdb";
  if (options & 1) {
    fs::create_directory_symlink("aclImdb", acl);  // aclImdb -> itself
  } else {
    fs::create_directory(acl);
    lay_out(acl, in);
  }
  const int64_t per_class = (options >> 1) & 3;
  check_split(acl, "train", per_class);
  check_split(acl, "test", 0);
  try {
    const fs::path found = ag::data::find_imdb(root.string());
    if (found != acl && found != root) ag::fuzz::broken("find_imdb found another folder");
  } catch (const ag::Error&) {
  }
  return 0;
}
