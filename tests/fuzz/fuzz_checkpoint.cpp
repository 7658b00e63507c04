// Fuzz target: the checkpoint loader (load_checkpoint_bytes) on raw bytes. Expected: an ag::Error
// naming the input, or, for an intact file, a checkpoint whose tensors are finite and whose shapes
// fit in the file. The seal refuses every damaged sealed file before libhdf5 sees it; bytes that
// start with the HDF5 signature are an unsealed file and go to libhdf5 as they are (the
// checkpoint_repaired target fuzzes that parser on purpose).
#include <cmath>
#include <cstdint>
#include <string>

#include "attograd/core/error.h"
#include "attograd/train/run_checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const ag::train::Checkpoint c = ag::train::load_checkpoint_bytes(std::move(bytes), "fuzz.h5");
    int64_t elements = 0;
    for (const auto& [name, t] : c.model) {
      elements += t.numel();
      for (int64_t i = 0; i < t.numel(); ++i)
        if (!std::isfinite(t.data()[i])) ag::fuzz::broken("a checkpoint with a non-finite weight loaded");
    }
    if (static_cast<size_t>(elements) * sizeof(float) > size) ag::fuzz::broken("more weights than the file holds");
  } catch (const ag::Error&) {
  }
  return 0;
}
