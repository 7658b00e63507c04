// Replays saved fuzz inputs through a target's LLVMFuzzerTestOneInput, without libFuzzer: what
// the normal (gcc) test suite runs, so every seed and every crash once found stays a test.
//
//   replay_<target> FILE_OR_FOLDER...   (a folder: every regular file in it, in name order)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    if (fs::is_directory(arg)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (fs::is_regular_file(arg)) {
      inputs.push_back(arg);
    }  // a folder that does not exist yet (no regression input so far) has nothing to replay
  }
  if (inputs.empty()) {
    fmt::print(stderr, "replay: no inputs found in the folders given\n");
    return 1;
  }
  for (const fs::path& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    fmt::print("replay: {} ({} bytes)\n", path.string(), bytes.size());
    std::fflush(stdout);  // the last line printed names the input if it crashes
    std::vector<uint8_t> data(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  fmt::print("replay: {} inputs ran without a crash\n", inputs.size());
  return 0;
}
