#pragma once
// The checkpoint of a whole training run, in HDF5: the model's state dict (attograd/nn/serialize.h)
// with what resuming needs besides, so a resumed run continues bit for bit. It sits above nn/ and
// optim/ because it holds both. Layout (docs/design.md "Checkpoints"):
//
//   /                    attrs format_version (1), config (JSON text)
//   /model/<name>        float32, one dataset per parameter or buffer
//   /optimizer           attrs type, step, num_groups, group<i>.lr, group<i>.weight_decay,
//                        group<i>.params (names joined by '\n'), and the hyper-parameters
//                        (momentum, beta1, eps, ...)
//   /optimizer/<kind>/<name>   float32 state ("exp_avg", "momentum_buffer", ...) per parameter;
//                        kind "step" holds each parameter's step count (int64 scalar)
//   /scheduler           attrs type, step, num_groups, base_lr<i>
//   /data                attrs epoch, position, shuffle_seed
//   /rng/<name>          attrs seed, offset ("default" is default_generator())
//   /vocab/<name>        1-D string datasets
//
// uint64 values (seeds, offsets) are stored bit for bit as int64 attributes. Files are sealed and
// written atomically like every file of nn/serialize.h, and hold no timestamps: the same state
// gives the same bytes.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attograd/core/random.h"
#include "attograd/nn/module.h"
#include "attograd/nn/serialize.h"
#include "attograd/optim/optimizer.h"
#include "attograd/optim/schedule.h"

namespace ag::train {

using nn::checkpoint_format_version;

/// Where a run is in its data: the epoch, the number of batches of it already trained on, and the
/// seed that (with the epoch) fixes the epoch's shuffle.
struct DataPosition {
  int64_t epoch = 0;
  int64_t position = 0;
  uint64_t shuffle_seed = 0;
  bool operator==(const DataPosition&) const = default;
};

/// A generator's whole state (Generator::seed(), offset()).
struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

/// Everything a checkpoint file holds. Parts a run does not use stay empty and are not written.
struct Checkpoint {
  nn::NamedTensors model;
  std::optional<optim::OptimizerState> optimizer;
  std::optional<optim::SchedulerState> scheduler;
  std::optional<DataPosition> data;
  std::map<std::string, GeneratorState> rng;
  std::map<std::string, std::vector<std::string>> vocab;
  std::string config = "{}";  // the run's configuration, JSON text
  std::string source;         // the file it was loaded from ("" when made in memory)
};

/// Collects the state of a training run (values shared, not copied): model.state_dict(), the
/// optimizer's and scheduler's state when given, default_generator() under "default", and
/// `generators` under their names. Set data, config and vocab on the result, then save it.
Checkpoint make_checkpoint(const nn::Module& model, const optim::Optimizer* optimizer = nullptr,
                           const optim::Scheduler* scheduler = nullptr,
                           const std::map<std::string, const Generator*>& generators = {});

/// Loads a checkpoint into a live run: the model (strictly: missing, unexpected or misshaped names
/// raise), the optimizer and scheduler when given (the file must hold them), default_generator()
/// when the file has "default", and each of `generators` (the file must hold them). Raises
/// ag::Error naming the file before changing anything the file lacks.
void restore_checkpoint(const Checkpoint& checkpoint, nn::Module& model, optim::Optimizer* optimizer = nullptr,
                        optim::Scheduler* scheduler = nullptr,
                        const std::map<std::string, Generator*>& generators = {});

/// Writes a checkpoint atomically (temporary file, fsync, read back, rename). Refuses a model
/// holding NaN or Inf, naming the tensor: such a checkpoint must never replace a good one.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
/// Reads a checkpoint. With training_state = false only model, config and vocab are read (what
/// evaluation and prediction need). Refuses a missing, truncated or foreign file and an unknown
/// format_version, and a model holding NaN or Inf, with an ag::Error naming the file.
Checkpoint load_checkpoint(const std::string& path, bool training_state = true);
/// load_checkpoint() of a file's bytes held in memory; `name` is what messages call it.
Checkpoint load_checkpoint_bytes(std::string bytes, const std::string& name, bool training_state = true);
/// Reads only a checkpoint's config (its JSON text; empty when it has none), with load_checkpoint's
/// checks on the file: what a tool needs to compare runs without loading their weights.
std::string load_checkpoint_config(const std::string& path);

/// What `train --resume RUN_DIR` continues from: RUN_DIR/last.h5 with its training state, and its
/// config parsed (the program's own keys: "model", "train", "progress", ...).
struct ResumePoint {
  Checkpoint last;
  nlohmann::json config;
  std::string path;  // RUN_DIR/last.h5
};
/// Reads RUN_DIR/last.h5 for `program` ("imdb train"), whose configs hold `keys`. Raises ag::Error
/// naming the folder and the file when load_checkpoint refuses it, when its config is not a JSON
/// object with the keys ("not a training checkpoint of <program>") or when it holds no training
/// state (a best.h5 copied there).
ResumePoint read_resume_point(const std::string& run_dir, const std::string& program,
                              const std::vector<std::string>& keys);

}  // namespace ag::train
