#pragma once
// State-dict files in HDF5, and the pieces a whole-run checkpoint (attograd/train/run_checkpoint.h)
// builds its files from. The layout is in docs/design.md "Checkpoints":
//
//   /                    attrs format_version (1)
//   /model/<name>        float32, one dataset per parameter or buffer
//
// Every file carries a seal (attograd/nn/sealed_file.h: size and CRC-32 in the HDF5 user block, which
// h5py skips) that is checked before libhdf5 parses it, and is written atomically (a temporary file,
// fsynced, read back, renamed over `path`), so neither a damaged file nor a crash, kill or full disk
// loses the last good file.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "attograd/core/error.h"
#include "attograd/nn/hdf5.h"
#include "attograd/nn/module.h"

namespace ag::nn {

/// The checkpoint format this build writes and reads.
inline constexpr int64_t checkpoint_format_version = 1;

/// Writes a state dict as /model/<name> (atomically, with format_version). torch.save(state_dict).
void save_state_dict(const std::string& path, const NamedTensors& state);
/// Reads /model of a state-dict file or checkpoint (files without format_version, e.g. written
/// from PyTorch with h5py, are accepted). Names come back in alphabetical order.
NamedTensors load_state_dict_file(const std::string& path);

// The pieces, for files that hold a state dict among other things. `op` names the caller in messages.

/// Builds a file in memory with `fill` and writes it to `path` atomically; on any failure `path` is
/// untouched and the ag::Error names `op` and `path`.
void write_h5_atomically(const std::string& op, const std::string& path, const std::function<void(H5File&)>& fill);
/// Writes `state` as /model/<name>; refuses an empty name, one holding '/', an undefined tensor.
void write_state_dict(H5File& file, const NamedTensors& state);
/// Reads /model/<name>, names in alphabetical order.
NamedTensors read_state_dict(const H5File& file);
/// Refuses a file of another format_version; with require_version = false also one without it.
void check_format_version(const std::string& op, const H5File& file, bool require_version);
/// Opens `path` for reading: refuses missing, truncated, damaged and foreign files, unknown versions.
std::unique_ptr<H5File> open_for_reading(const std::string& op, const std::string& path, bool require_version);
/// Raises naming the file and tensor when `t` holds NaN or Inf: such weights are of no use to
/// resume from or to predict with, and must never replace good ones.
void check_finite_tensor(const std::string& op, const std::string& path, const std::string& name, const Tensor& t);
/// "op: message", naming `path` unless the message already does.
Error in_file_context(const std::string& op, const std::string& path, const Error& e);

}  // namespace ag::nn
