// Fuzz target: the parser behind the seal. Each input's seal is rewritten to match its bytes (the
// first 512 bytes become a valid seal for the rest), so every input reaches libhdf5 and attograd's
// reading of what libhdf5 returns: the checkpoint layout, strings, attributes, shapes. Expected: an
// ag::Error, or a checkpoint. A crash inside libhdf5 here is a file someone crafted on purpose
// (accidental damage never passes the seal); such crashes are listed in tests/fuzz/README.md.
#include <cstdint>
#include <string>

#include "attograd/core/error.h"
#include "attograd/nn/sealed_file.h"
#include "attograd/train/run_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < ag::kSealSize) return 0;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  ag::seal(bytes);
  try {
    ag::train::load_checkpoint_bytes(std::move(bytes), "fuzz.h5");
  } catch (const ag::Error&) {
  }
  return 0;
}
