// Fuzz target: attograd's reading of a checkpoint's layout, behind the seal. Each input is a list
// of commands that build a well-formed HDF5 file with libhdf5 (groups, float/int/string datasets of
// small shapes, int/double/string attributes, at the paths and names a checkpoint uses, or others),
// which is sealed and loaded with load_checkpoint_bytes, with and without the training state. So
// every input passes the seal and is valid HDF5, and what is fuzzed is attograd's side: missing
// parts, wrong types, odd shapes, names and counts that contradict each other. Expected: an
// ag::Error naming the file, or a checkpoint whose weights are finite.
//
// A command is a byte (its kind) followed by bytes that pick a path and a name from the tables
// below and give shapes, values and text.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "attograd/core/error.h"
#include "attograd/core/tensor.h"
#include "attograd/nn/hdf5.h"
#include "attograd/train/run_checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using ag::fuzz::Bytes;

const char* const kGroups[] = {"/",           "/model",   "/optimizer", "/optimizer/exp_avg", "/optimizer/step",
                               "/scheduler",  "/data",    "/rng",       "/rng/default",       "/rng/shuffle",
                               "/vocab",      "/model/x", "/optimizer/exp_avg_sq"};
const char* const kNames[] = {"format_version", "config", "type",   "step",     "num_groups", "group0.lr",
                              "group0.weight_decay", "group0.params", "group1.lr", "epoch", "position",
                              "shuffle_seed", "seed", "offset", "base_lr0", "weight", "bias", "0.weight", "words",
                              "src", "trg", "beta1", "x"};

template <size_t N>
std::string pick(Bytes& in, const char* const (&table)[N]) {
  return table[in.byte() % N];
}

std::string path_in(const std::string& group, const std::string& name) {
  return group == "/" ? "/" + name : group + "/" + name;
}

ag::Shape small_shape(Bytes& in) {
  ag::Shape shape;
  const int rank = in.byte() % 4;
  for (int d = 0; d < rank; ++d) shape.push_back(in.byte() % 5);
  return shape;
}

void build(Bytes& in, ag::H5File& file) {
  while (!in.empty()) {
    const uint8_t kind = in.byte() % 8;
    const std::string group = pick(in, kGroups), name = pick(in, kNames), at = path_in(group, name);
    try {
      switch (kind) {
        case 0: file.create_group(group); break;
        case 1: {
          const ag::Shape shape = small_shape(in);
          ag::Tensor t = ag::zeros(shape);
          for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(static_cast<int8_t>(in.byte())) / 4;
          file.write(at, t);
          break;
        }
        case 2: {
          const ag::Shape shape = small_shape(in);
          ag::IntTensor t(shape);
          for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<int8_t>(in.byte());
          file.write(at, t);
          break;
        }
        case 3: {
          std::vector<std::string> strings(in.byte() % 6);
          for (std::string& s : strings) s = std::string(in.until('\n'));
          file.write(at, strings);
          break;
        }
        case 4: file.set_attr(group, name, static_cast<int64_t>(static_cast<int8_t>(in.byte()))); break;
        case 5: file.set_attr(group, name, static_cast<double>(static_cast<int8_t>(in.byte())) / 8); break;
        default: file.set_attr(group, name, std::string(in.until('\n'))); break;
      }
    } catch (const ag::Error&) {
      // A command the file cannot take (a dataset where a group is, a name used twice): skipped.
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  std::string bytes;
  {
    ag::H5File file("fuzz.h5", ag::H5File::Mode::Create);
    build(in, file);
    bytes = file.bytes();
  }
  for (const bool training_state : {false, true}) {
    try {
      const ag::train::Checkpoint c = ag::train::load_checkpoint_bytes(bytes, "fuzz.h5", training_state);
      for (const auto& [name, t] : c.model)
        for (int64_t i = 0; i < t.numel(); ++i)
          if (!std::isfinite(t.data()[i])) ag::fuzz::broken("a checkpoint with a non-finite weight loaded");
    } catch (const ag::Error& e) {
      if (std::string(e.what()).find("fuzz.h5") == std::string::npos) ag::fuzz::broken("an error that names no file");
    }
  }
  return 0;
}
